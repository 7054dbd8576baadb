"""A step that writes in a loop must not hold the event loop: every request, socket and other
step of ``motia dev`` waits while it does.

A stream write on the local stores runs to its end without awaiting anything (the store call and
the fan-out to subscribers are synchronous, so a write and its notification happen together), so
a loop of 2,000 ``set()``s with 100 subscribers held the loop for 1.3 s (bench/optimisations.md).
``share_loop()`` is awaited before each write (after its checks, before the store and the
triggers, so a write and its trigger stay together): it yields one turn of the loop once the loop
has not had one for ``BUDGET_S``, and costs one clock read otherwise. On the AWS stores every write
awaits the network anyway; there the loop has always turned and nothing more happens.
"""

from __future__ import annotations

import asyncio
import time

BUDGET_S = 0.002  # at most this long without a turn of the loop, plus one write

# (loop, when a write first found no turn pending): set by a write, cleared by the loop's next turn.
_since: tuple[asyncio.AbstractEventLoop, float] | None = None


def _turned() -> None:
    global _since
    _since = None


def due() -> bool:
    """Whether the caller should yield one turn of the loop now (``share_loop``'s test, for a hot
    path that awaits only when it must: a coroutine per write costs more than the test)."""
    global _since
    now = time.perf_counter()
    loop = asyncio.get_running_loop()
    if _since is None or _since[0] is not loop:
        _since = (loop, now)
        loop.call_soon(_turned)  # runs at the loop's next turn, whoever yields first
        return False
    return now - _since[1] >= BUDGET_S


async def share_loop() -> None:
    if due():
        await asyncio.sleep(0)  # one turn: other tasks and I/O run, _turned clears the mark

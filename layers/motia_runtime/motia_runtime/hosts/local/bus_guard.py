"""How many event handlers the local bus may run at once, and the guard that holds it back.

On AWS an event step's queue feeds its Lambda function, and Lambda scales an SQS source out to as
many concurrent executions as the backlog needs: up to the account's concurrency (1,000 by
default), or the step's ``infrastructure.queue.concurrency`` (the event source's
``MaximumConcurrency``). The local bus follows that: a step without ``concurrency`` may run up to
``MOTIA_BUS_CONCURRENCY`` handlers at once (default 1,000, as the account's), one with it at most
that many.

One process is not a fleet of Lambdas, though: each running handler holds memory, and handlers
that use CPU slow the event loop every request and socket shares. So a guard watches the loop's
lag (how late a 50 ms timer fires) and the process's resident memory, and while either is over
its limit (``MOTIA_BUS_MAX_LOOP_LAG_MS``, default 100; ``MOTIA_BUS_MAX_RSS_MB``, default 2,048)
each step claims no new message beyond ``GUARANTEED`` running handlers: messages wait in the
durable queue instead of piling onto the loop, and no step is ever starved.

The three variables are read once into the host's limits (limits.py), which the bus is built from.

The guard samples only while the bus has work (a handler running): an idle ``motia dev`` does
not wake 20 times a second to read ``/proc/self/statm``. When work comes back, the first claim
takes a memory sample first (``resume``), so an RSS grown while idle still holds claims back;
the loop's lag is measured again from the next tick.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from ...limits import DEFAULTS
from ...tasks import stop_task

GUARANTEED = 10  # handlers a step may always run, whatever the guard says (the old fixed default)
TICK_S = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None  # not Linux: the memory half of the guard is off


class LoadGuard:
    """Samples the loop's lag and the process's RSS every ``TICK_S`` while ``busy()``; ``overloaded``
    says whether either is over its limit. ``on_clear`` is called when an overload ends (workers
    claim again). The bus sets ``busy`` and calls ``resume`` before it claims."""

    def __init__(self, max_lag_ms: int = DEFAULTS.bus_max_loop_lag_ms,
                 max_rss_mb: int = DEFAULTS.bus_max_rss_mb) -> None:
        self.max_lag_s = max_lag_ms / 1000
        self.max_rss = 1_000_000 * max_rss_mb
        self.lag_s = 0.0
        self.rss: int | None = None
        self.overloaded = False
        self.trips = 0  # times an overload began (for the curious and the tests)
        self.on_clear: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.busy: Callable[[], bool] = lambda: True  # whether the bus has handlers running
        self.idle = False  # not sampling: nothing ran at the last tick
        self._work = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="bus-load-guard")

    def resume(self) -> None:
        """The bus is about to claim: after an idle spell, sample the memory now and watch again."""
        if self.idle and self._task is not None:
            self.idle = False
            self.sample(0.0)  # the lag was not measured while idle: from the next tick
            self._work.set()

    async def _watch(self) -> None:
        while True:
            if not self.busy():
                self.idle = True
                self._work.clear()
                await self._work.wait()
            due = time.perf_counter() + TICK_S
            await asyncio.sleep(TICK_S)
            self.sample(time.perf_counter() - due)

    def sample(self, lag_s: float) -> None:
        self.lag_s = max(lag_s, 0.0)
        self.rss = _rss_bytes()
        over = self.lag_s > self.max_lag_s or (self.rss is not None and self.rss > self.max_rss)
        if over and not self.overloaded:
            self.trips += 1
        was, self.overloaded = self.overloaded, over
        if was and not over and self.on_clear is not None:
            self.on_clear()

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        self.idle = False

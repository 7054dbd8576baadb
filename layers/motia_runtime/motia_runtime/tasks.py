"""Background tasks' shutdown, one way for every component that owns one (sweepers, listeners,
guards)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

STOP_RECHECK_S = 0.2


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended, so nothing it does outlives its owner's close.
    (The tasks given here clean up without awaiting: a second cancel cannot cut a cleanup short.)"""
    if task is None:
        return
    task.cancel()
    # Python 3.11's ``asyncio.wait_for`` returns its inner result when a cancellation lands as the
    # inner call completes (fixed in 3.12), and redis-py writes each command through it: a sweeper
    # cancelled in that moment carried on to its next sleep and this waited for ever. So until the
    # task has ended, it is cancelled again.
    while not task.done():
        await asyncio.wait((task,), timeout=STOP_RECHECK_S)
        if not task.done():
            task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

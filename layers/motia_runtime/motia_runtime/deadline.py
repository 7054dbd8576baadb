"""Handler deadlines (``infrastructure.handler.timeout``), many runs on one timer.

``asyncio.timeout`` arms and cancels a timer of the event loop for every run: a twentieth of a
``GET /ping``'s CPU on the local host (bench/optimisations.md, round 2). A step's deadlines all
have the same length, so runs started later end later: per length, the runs in progress are kept
in the order they started (a dict: O(1) to add and to drop), and a single timer waits for the
oldest. When it fires, every run whose deadline has passed is cancelled, as ``asyncio.timeout``
cancels it, and the timer is set for the next oldest. A run that ends drops out of its queue; the
timer is not touched.

:func:`deadline` behaves as ``asyncio.timeout(seconds)`` in a task: the cancellation it causes
comes out of the ``async with`` as ``TimeoutError``, a cancellation from anywhere else is left
alone (``Task.cancelling``/``uncancel``, as asyncio does it).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType


class _Run:
    __slots__ = ("cancelling", "expired", "task", "when")

    def __init__(self, when: float, task: asyncio.Task[object], cancelling: int) -> None:
        self.when = when
        self.task = task
        self.cancelling = cancelling
        self.expired = False


class _Keeper:
    """The deadlines of one event loop, by their length in seconds."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.runs: dict[float, dict[_Run, None]] = {}
        self.timers: dict[float, asyncio.TimerHandle] = {}

    def add(self, seconds: float, task: asyncio.Task[object]) -> _Run:
        run = _Run(self.loop.time() + seconds, task, task.cancelling())
        queue = self.runs.get(seconds)
        if queue is None:
            queue = self.runs[seconds] = {}
        queue[run] = None
        if seconds not in self.timers:
            self.timers[seconds] = self.loop.call_at(run.when, self._fire, seconds, run.when)
        return run

    def drop(self, seconds: float, run: _Run) -> None:
        self.runs[seconds].pop(run, None)

    def _fire(self, seconds: float, target: float) -> None:
        del self.timers[seconds]
        queue = self.runs[seconds]
        # A timer may fire a little before its time (the loop's clock resolution): what it was
        # set for counts as passed.
        now = max(self.loop.time(), target)
        while queue:
            run = next(iter(queue))
            if run.when > now:
                self.timers[seconds] = self.loop.call_at(run.when, self._fire, seconds, run.when)
                return
            del queue[run]
            run.expired = True
            run.task.cancel()


_local = threading.local()  # a thread runs one event loop at a time


def _keeper(loop: asyncio.AbstractEventLoop) -> _Keeper:
    keeper: _Keeper | None = getattr(_local, "keeper", None)
    if keeper is None or keeper.loop is not loop:
        keeper = _local.keeper = _Keeper(loop)
    return keeper


class deadline:  # noqa: N801 - used like asyncio.timeout
    """``async with deadline(seconds):`` as ``async with asyncio.timeout(seconds):`` (module docstring)."""

    __slots__ = ("_keeper", "_run", "_seconds")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("deadline() must be used inside a task")
        self._keeper = _keeper(task.get_loop())
        self._run = self._keeper.add(self._seconds, task)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        run = self._run
        self._keeper.drop(self._seconds, run)
        # As asyncio.timeout: only the cancellation this deadline asked for becomes TimeoutError.
        if run.expired and run.task.uncancel() <= run.cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc

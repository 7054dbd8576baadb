"""Runs cron steps at their next times (one asyncio task per cron step).

With several workers each one schedules every cron step, and ``claim(step, due)`` (a slot lock
in Redis) lets exactly one of them run each slot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ...config import CronConfig
from ...cron import next_run
from ...dispatch import run_cron
from ...project import Step
from ...runtime import Runtime

SlotClaim = Callable[[str, datetime], Awaitable[bool]]


class CronScheduler:
    def __init__(self, runtime: Runtime, claim: SlotClaim | None = None) -> None:
        self.runtime = runtime
        self.claim = claim
        self.tasks: list[asyncio.Task[None]] = []
        self.next_runs: dict[str, datetime] = {}
        self.running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        for step in self.runtime.project.cron_steps:
            self.tasks.append(asyncio.create_task(self._loop(step), name=f"cron:{step.name}"))

    async def _loop(self, step: Step[CronConfig]) -> None:
        config = step.config
        due = next_run(config.cron, datetime.now(UTC))
        while True:
            self.next_runs[step.name] = due
            await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))
            # A run that outlasts its interval must not delay or stop the schedule.
            task = asyncio.create_task(self._run(step, due))
            self.running.add(task)
            task.add_done_callback(self.running.discard)
            # From the due time, not from now: an early wake-up must not run the same slot twice.
            # From now when that is later: slots missed while the loop was held (a laptop asleep,
            # a handler blocking the loop, SIGSTOP) are skipped, as EventBridge skips them, not
            # all run at once on waking (480 runs of a one-minute cron after a night asleep).
            due = next_run(config.cron, max(due, datetime.now(UTC)))

    async def _run(self, step: Step[CronConfig], due: datetime | None = None) -> None:
        try:
            if self.claim is not None and due is not None and not await self.claim(step.name, due):
                return  # another worker runs this slot
            await run_cron(self.runtime, step)
        except Exception as exc:
            self.runtime.logger(step).exception(f"cron run failed: {type(exc).__name__}: {exc}")

    async def stop(self) -> None:
        for task in [*self.tasks, *self.running]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

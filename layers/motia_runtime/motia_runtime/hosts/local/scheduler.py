"""Runs cron steps at their next times (one asyncio task per cron step)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timezone

from ...config import CronConfig
from ...cron import next_run
from ...dispatch import run_cron
from ...project import Step
from ...runtime import Runtime


class CronScheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tasks: list[asyncio.Task[None]] = []
        self.next_runs: dict[str, datetime] = {}
        self.running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        for step in self.runtime.project.cron_steps:
            self.tasks.append(asyncio.create_task(self._loop(step), name=f"cron:{step.name}"))

    async def _loop(self, step: Step) -> None:
        config: CronConfig = step.config  # type: ignore[assignment]
        due = next_run(config.cron, datetime.now(timezone.utc))
        while True:
            self.next_runs[step.name] = due
            await asyncio.sleep(max((due - datetime.now(timezone.utc)).total_seconds(), 0))
            # A run that outlasts its interval must not delay or stop the schedule.
            task = asyncio.create_task(self._run(step))
            self.running.add(task)
            task.add_done_callback(self.running.discard)
            # From the due time, not from now: an early wake-up must not run the same slot twice.
            due = next_run(config.cron, due)

    async def _run(self, step: Step) -> None:
        try:
            await run_cron(self.runtime, step)
        except Exception as exc:
            self.runtime.logger(step).exception(f"cron run failed: {type(exc).__name__}: {exc}")

    async def stop(self) -> None:
        for task in [*self.tasks, *self.running]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

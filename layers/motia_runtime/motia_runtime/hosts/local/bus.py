"""The in-process event bus: one durable queue and one worker per subscribing step.

Semantics follow what the step gets on AWS (SQS behind EventBridge): at-least-once delivery,
``max_retries`` retries with backoff, then a dead letter that is kept and can be redriven;
FIFO queues run one message per ``messageGroupId`` at a time, in order, retries included.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from ...config import EventConfig
from ...dispatch import InvalidInputError, run_event
from ...errors import EmitError
from ...ports.events import Event, EventBus
from ...ports.queue import NewMessage, QueuedMessage, QueueStore
from ...project import Step
from ...runtime import Runtime

DEFAULT_CONCURRENCY = 10


def now_ms() -> int:
    return int(time.time() * 1000)


class StepWorker:
    """Pulls a step's messages from the store and runs them, up to its concurrency."""

    def __init__(self, bus: LocalEventBus, step: Step) -> None:
        self.bus = bus
        self.step = step
        config: EventConfig = step.config  # type: ignore[assignment]
        self.queue = config.infrastructure.queue
        self.fifo = self.queue.type == "fifo"
        self.limit = self.queue.concurrency or DEFAULT_CONCURRENCY
        self.running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"worker:{self.step.name}")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self.running) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _loop(self) -> None:
        store = self.bus.store
        while True:
            self._wake.clear()
            free = self.limit - len(self.running)
            if free > 0:
                for message in store.claim(self.step.name, now_ms(), free, self.fifo):
                    task = asyncio.create_task(self._handle(message))
                    self.running.add(task)
                    task.add_done_callback(self._done)
            timeout = None
            if len(self.running) < self.limit:
                upcoming = store.next_visible_at(self.step.name)
                if upcoming is not None:
                    timeout = max(upcoming - now_ms(), 0) / 1000 + 0.001
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        self.wake()

    async def _handle(self, message: QueuedMessage) -> None:
        store = self.bus.store
        event = Event(message.topic, message.data, message.trace_id, message.message_group_id, message.event_id)
        logger = self.bus.runtime.logger(self.step, message.trace_id)
        try:
            await run_event(self.bus.runtime, self.step, event)
        except asyncio.CancelledError:
            raise  # shutting down: the message stays in flight and is recovered at the next start
        except InvalidInputError as exc:
            store.dead_letter(message.id, str(exc))
            logger.error(f"event input is invalid, dead-lettered without retry: {exc}",
                         {"topic": message.topic, "errors": exc.errors, "messageId": message.id})
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if message.attempts > self.queue.max_retries:
                store.dead_letter(message.id, error)
                logger.exception(f"step failed {message.attempts} times; event dead-lettered: {error}",
                                 {"topic": message.topic, "messageId": message.id})
            else:
                delay = self.queue.retry_delay_ms(message.attempts)
                store.retry_later(message.id, error, now_ms() + delay)
                logger.exception(f"step failed (attempt {message.attempts} of {self.queue.max_retries + 1}); "
                                 f"retrying in {delay} ms: {error}", {"topic": message.topic, "messageId": message.id})
        else:
            store.ack(message.id)


class LocalEventBus(EventBus):
    def __init__(self, store: QueueStore) -> None:
        self.store = store
        self.runtime: Runtime | None = None  # set by start(); the runtime holds the bus too
        self.workers: dict[str, StepWorker] = {}

    def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        recovered = self.store.recover_inflight()
        if recovered:
            runtime.logger().info(f"re-queued {recovered} event(s) left in flight by the previous run")
        for step in runtime.project.event_steps:
            worker = StepWorker(self, step)
            self.workers[step.name] = worker
            worker.start()

    async def publish(self, events: Sequence[Event]) -> None:
        if self.runtime is None:
            raise EmitError("the event bus is not started")
        now = now_ms()
        messages = []
        for event in events:
            for step in self.runtime.project.subscribers(event.topic):
                delay = step.config.infrastructure.queue.delay_seconds * 1000
                messages.append(NewMessage(step.name, event.topic, event.data, event.trace_id,
                                           event.message_group_id, now + delay, event.id))
        if not messages:
            return
        try:
            self.store.enqueue(messages, now)
        except Exception as exc:
            raise EmitError(f"could not queue the event: {exc}") from exc
        for name in {m.step for m in messages}:
            self.workers[name].wake()

    def redrive(self, message_id: int) -> bool:
        message = next((m for m in self.store.list(status="dead", limit=100000) if m.id == message_id), None)
        if message is None or not self.store.redrive(message_id, now_ms()):
            return False
        if message.step in self.workers:
            self.workers[message.step].wake()
        return True

    async def aclose(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers.values()))
        self.workers.clear()

"""The in-process event bus: one durable queue and one worker per subscribing step.

Semantics follow what the step gets on AWS (SQS behind EventBridge): at-least-once delivery,
``max_retries`` retries with backoff, then a dead letter that is kept and can be redriven;
FIFO queues run one message per ``messageGroupId`` at a time, in order, retries included.

How many handlers a step runs at once follows what Lambda would do for it, held back by a guard on
the loop's lag and the process's memory (bus_guard.py). A handler's success is acked with the
others of the same loop turn in one commit: a crash in between re-runs it, as at-least-once allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from ...config import EventConfig
from ...dispatch import InvalidInputError, run_event
from ...errors import EmitError
from ...limits import DEFAULTS, Limits
from ...ports.events import Event, EventBus
from ...ports.queue import NewMessage, QueuedMessage, QueueStore
from ...project import Step
from ...runtime import Runtime
from .bus_guard import GUARANTEED, LoadGuard

# Messages claimed per turn of the event loop: a deep backlog starts in slices, so starting
# handlers never holds the loop (and the requests and sockets it serves) for long.
CLAIM_BATCH = 100


def now_ms() -> int:
    return int(time.time() * 1000)


class StepWorker:
    """Pulls a step's messages from the store and runs them, up to its concurrency."""

    def __init__(self, bus: LocalEventBus, runtime: Runtime, step: Step[EventConfig]) -> None:
        self.bus = bus
        self.runtime = runtime
        self.step = step
        self.queue = step.config.infrastructure.queue
        self.fifo = self.queue.type == "fifo"
        self.limit = self.queue.concurrency or bus.default_concurrency
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
        store, bus = self.bus.store, self.bus
        while True:
            self._wake.clear()
            if bus.guard.idle:
                bus.guard.resume()  # a fresh memory sample before the first claim after an idle spell
            # Over the guard's limits, no new claims beyond the guaranteed few (bus_guard.py).
            limit = min(self.limit, GUARANTEED) if bus.guard.overloaded else self.limit
            free = min(limit - len(self.running), CLAIM_BATCH)
            claimed = 0
            if free > 0:
                messages = store.claim(self.step.name, now_ms(), free, self.fifo)
                claimed = len(messages)
                for message in messages:
                    task = asyncio.create_task(self._handle(message))
                    self.running.add(task)
                    task.add_done_callback(self._done)
            if claimed == CLAIM_BATCH:  # more may be ready: claim again after one turn of the loop
                await asyncio.sleep(0)
                continue
            timeout = None
            if len(self.running) < limit:
                upcoming = store.next_visible_at(self.step.name, self.fifo)
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
        logger = self.runtime.logger(self.step, message.trace_id)
        try:
            await run_event(self.runtime, self.step, event)
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
            self.bus.ack(message.id)


class LocalEventBus(EventBus):
    def __init__(self, store: QueueStore, limits: Limits = DEFAULTS) -> None:
        """``limits``: the host's (``bus_concurrency`` handlers per step at once unless the step
        sets its own, and the guard's ``bus_max_loop_lag_ms`` and ``bus_max_rss_mb``)."""
        self.store = store
        self.runtime: Runtime | None = None  # set by start(); the runtime holds the bus too
        self.workers: dict[str, StepWorker] = {}
        self.default_concurrency = limits.bus_concurrency
        self.guard = LoadGuard(limits.bus_max_loop_lag_ms, limits.bus_max_rss_mb)
        self.guard.on_clear = self._wake_all
        self.guard.busy = self._busy
        self._acks: list[int] = []

    def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.guard.start()
        recovered = self.store.recover_inflight()
        if recovered:
            runtime.logger().info(f"re-queued {recovered} event(s) left in flight by the previous run")
        for step in runtime.project.event_steps:
            worker = StepWorker(self, runtime, step)
            self.workers[step.name] = worker
            worker.start()

    def ack(self, message_id: int) -> None:
        """Ack at the end of this turn of the loop, with the turn's other acks, in one commit."""
        if not self._acks:
            asyncio.get_running_loop().call_soon(self.flush_acks)
        self._acks.append(message_id)

    def flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        if acks:
            self.store.ack_many(acks)

    def _busy(self) -> bool:
        return any(worker.running for worker in self.workers.values())

    def _wake_all(self) -> None:
        for worker in self.workers.values():
            worker.wake()

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
        self.flush_acks()  # what finished in this last turn is done: not re-run at the next start
        await self.guard.stop()

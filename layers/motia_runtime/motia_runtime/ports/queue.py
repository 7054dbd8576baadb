"""QueueStore: the durable per-step queues behind the local event bus.

On AWS this role is played by SQS; locally a QueueStore keeps every accepted message until a
step has handled it, so a crash or a kill loses nothing (in-flight messages become ready again
at the next start, as an SQS message does when its visibility timeout runs out).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

MessageStatus = Literal["ready", "inflight", "dead"]


@dataclass(slots=True)
class QueuedMessage:
    id: int
    step: str
    topic: str
    data: Any
    trace_id: str
    message_group_id: str | None
    attempts: int
    visible_at: int  # epoch ms
    status: MessageStatus
    created_at: int
    last_error: str | None = None
    event_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "step": self.step, "topic": self.topic, "data": self.data, "traceId": self.trace_id,
            "messageGroupId": self.message_group_id, "attempts": self.attempts, "visibleAt": self.visible_at,
            "status": self.status, "createdAt": self.created_at, "lastError": self.last_error,
            "eventId": self.event_id,
        }


@dataclass(frozen=True, slots=True)
class NewMessage:
    step: str
    topic: str
    data: Any
    trace_id: str
    message_group_id: str | None
    visible_at: int
    event_id: str


class QueueStore(ABC):
    @abstractmethod
    def enqueue(self, messages: list[NewMessage], now: int) -> None:
        """Store the messages atomically (all or none)."""

    @abstractmethod
    def claim(self, step: str, now: int, limit: int, fifo: bool) -> list[QueuedMessage]:
        """Mark up to ``limit`` visible messages in-flight and count the attempt.

        FIFO: only the oldest message of a message group, and only when no message of that group
        is in flight, so a group's messages run one at a time and in order, retries included.
        """

    @abstractmethod
    def ack(self, message_id: int) -> None: ...

    def ack_many(self, message_ids: list[int]) -> None:
        """Ack several messages; a store that can does it in one commit."""
        for message_id in message_ids:
            self.ack(message_id)

    @abstractmethod
    def retry_later(self, message_id: int, error: str, visible_at: int) -> None: ...

    @abstractmethod
    def dead_letter(self, message_id: int, error: str) -> None: ...

    @abstractmethod
    def recover_inflight(self) -> int:
        """Make messages left in flight by a previous process ready again; returns how many."""

    @abstractmethod
    def next_visible_at(self, step: str, fifo: bool = False) -> int | None:
        """When ``claim`` could next pick a ready message of ``step`` (epoch ms), None if never
        without a new message or a finished one.

        FIFO: only the heads of message groups count. A message waiting behind its group's head
        (in flight, or ready later for its retry) cannot be claimed before the head ends, and
        the head's end wakes the worker; counted, its past ``visible_at`` would have the worker
        poll the store every millisecond for as long as the head runs or waits.
        """

    @abstractmethod
    def list(
        self, status: MessageStatus | None = None, step: str | None = None, limit: int = 200,
        after: int | None = None,
    ) -> list[QueuedMessage]:
        """Up to ``limit`` messages, by id, each past ``after`` when given (the page after one
        that ended at that id)."""

    def counts(self) -> dict[str, dict[str, int]]:
        """How many messages each step has in each status (``{step: {status: n}}``), whatever
        their number: the Workbench's queue table. Stores count in one query; this default reads
        them all, page by page."""
        out: dict[str, dict[str, int]] = {}
        after: int | None = None
        while page := self.list(limit=1000, after=after):
            for message in page:
                by_status = out.setdefault(message.step, {})
                by_status[message.status] = by_status.get(message.status, 0) + 1
            after = page[-1].id
        return out

    @abstractmethod
    def redrive(self, message_id: int, now: int) -> bool:
        """Put a dead letter back on its queue with its attempts reset, at the tail (a new id), as
        an SQS redrive sends it again: in a FIFO group it comes after the messages already
        queued, and never runs beside one of them in flight (a FIFO claim takes a group's
        lowest id)."""

    @abstractmethod
    def drop(self, message_id: int) -> bool:
        """Delete a dead letter."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

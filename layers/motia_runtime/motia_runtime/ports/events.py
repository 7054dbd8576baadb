"""EventBus: where ``ctx.emit`` sends events, to be delivered to the subscribing steps."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """An emitted event; the envelope is the same on every host."""

    topic: str
    data: Any
    trace_id: str
    message_group_id: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_envelope(self) -> dict[str, Any]:
        envelope: dict[str, Any] = {"id": self.id, "topic": self.topic, "data": self.data, "traceId": self.trace_id}
        if self.message_group_id is not None:
            envelope["messageGroupId"] = self.message_group_id
        return envelope

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Event:
        return cls(
            topic=envelope["topic"],
            data=envelope.get("data"),
            trace_id=envelope["traceId"],
            message_group_id=envelope.get("messageGroupId"),
            id=envelope.get("id") or uuid.uuid4().hex,
        )


class EventBus(ABC):
    @abstractmethod
    async def publish(self, events: Sequence[Event]) -> None:
        """Accept the events durably, or raise EmitError; delivery happens later."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Stop delivering; the default has nothing to stop."""

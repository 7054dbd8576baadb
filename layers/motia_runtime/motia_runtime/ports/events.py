"""EventBus: where ``ctx.emit`` sends events, to be delivered to the subscribing steps."""

from __future__ import annotations

import hashlib
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# SQS's rule for a MessageGroupId: 1 to 128 characters, each an ASCII letter, digit or
# punctuation mark (no space, nothing else). SQS refuses a send that breaks it (moto does not
# check), so it is checked here, on every host, the same way.
_SQS_MESSAGE_GROUP = re.compile(r"[!-~]{1,128}")


def message_group_problem(group: str) -> str | None:
    """What SQS would refuse in a ``messageGroupId``, or None."""
    if _SQS_MESSAGE_GROUP.fullmatch(group):
        return None
    return (f"messageGroupId {group[:40]!r}{'...' if len(group) > 40 else ''} must be 1 to 128 characters, "
            "each an ASCII letter, digit or punctuation mark (the rule of SQS FIFO queues)")


def safe_message_group(key: str) -> str:
    """A message group for a key the runtime builds from names a client or a step chose (a
    stream item, a state key): the key itself when SQS takes it, else a hash of it, so an item
    named with a space, an accent or past 128 characters still has its one group."""
    if _SQS_MESSAGE_GROUP.fullmatch(key):
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


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

"""Server frames as the client sees them, and the join/leave frames it sends.

The wire format is Motia's (see ``motia_runtime.protocol``); ``version`` (per item) and
``eventId`` (per custom event) are our additive fields, absent from Motia's own servers, and a
join may carry ``since`` to have the custom events sent after it replayed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from .. import jsonsafe
from ..protocol import Subscription

FrameKind = Literal["sync", "create", "update", "delete", "event"]
_KINDS = ("sync", "create", "update", "delete", "event")

Room = tuple[str, str, str | None]  # (stream, group, id or None for a group subscription)


@dataclass(frozen=True, slots=True)
class ServerFrame:
    stream: str
    group: str
    id: str | None
    kind: FrameKind
    data: Any  # the item (or list for a group sync); for ``event`` the custom event's data
    timestamp: int
    version: int | None = None
    event_type: str | None = None  # for ``event``: the custom event's type ("error" for refusals)
    event_id: str | None = None  # for ``event``: unique per sent event (our servers)

    @property
    def is_error(self) -> bool:
        return self.kind == "event" and self.event_type == "error"


def parse_server_frame(raw: str | bytes) -> ServerFrame | None:
    """The frame, or None when it is not one we understand (ignored, as Motia's clients do)."""
    try:  # the runtime's one JSON policy: a hostile server's [[[[... is ignored, not a crash
        message = jsonsafe.loads(raw, what="frame")
    except jsonsafe.InvalidJSONError:
        return None
    if not isinstance(message, dict):
        return None
    event = message.get("event")
    stream, group, id = message.get("streamName"), message.get("groupId"), message.get("id")
    if not isinstance(event, dict) or not isinstance(stream, str) or not isinstance(group, str):
        return None
    if id is not None and not isinstance(id, str):
        return None
    kind = event.get("type")
    if kind not in _KINDS:
        return None
    raw_ts, raw_version = message.get("timestamp"), message.get("version")
    timestamp = raw_ts if isinstance(raw_ts, int) else 0
    version = raw_version if isinstance(raw_version, int) and not isinstance(raw_version, bool) else None
    if kind == "event":
        inner = event.get("event")
        if not isinstance(inner, dict) or not isinstance(inner.get("type"), str):
            return None
        event_id = message.get("eventId")
        return ServerFrame(stream, group, id, "event", inner.get("data"), timestamp, version, inner["type"],
                           event_id if isinstance(event_id, str) else None)
    data = event.get("data")
    if kind in ("create", "update") and not isinstance(data, dict):
        # A stream item is an object: anything else would go into the state as an "item" (and,
        # in a group, break the next change's lookup by id, ending the connection's read loop).
        return None
    return ServerFrame(stream, group, id, kind, data, timestamp, version)


def join_frame(sub: Subscription, since: int | None = None, presence: Any = None) -> str:
    """``presence``: this client's presence state, on a stream with presence (None: none sent)."""
    data = sub.to_wire()
    if since is not None:
        data["since"] = since
    if presence is not None:
        data["presence"] = presence
    return json.dumps({"type": "join", "data": data})


def client_event_frame(sub: Subscription, type: str, data: Any) -> str:
    """A client event for the subscription's group (or item): the stream's ``client_events``
    rules decide (type, schema, rate); a refusal comes back as an ``error`` event."""
    return json.dumps({"type": "event", "data": {**sub.to_wire(), "event": {"type": type, "data": data}}})


def leave_frame(sub: Subscription) -> str:
    return json.dumps({"type": "leave", "data": sub.to_wire()})

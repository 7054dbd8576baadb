"""The stream wire protocol, compatible with Motia's own clients.

Client → server: ``{"type": "join"|"leave", "data": {"streamName", "groupId", "id"?, "subscriptionId"}}``,
and (our extension, for streams that accept client events) ``{"type": "event", "data": {"streamName",
"groupId", "id"?, "event": {"type", "data"}}}``.

Server → client: ``{"timestamp", "streamName", "groupId", "id"?, "event": E}`` where E is
``{"type": "sync", "data": item | [items]}``, ``{"type": "create"|"update"|"delete", "data": item}``
or ``{"type": "event", "event": {"type", "data"}}``. Errors are custom events of type ``error``
with ``{"code", "message"}`` (codes below); ``motia_runtime.session`` answers every client frame.

Our extensions are additive, so Motia's clients ignore them: a top-level ``version`` on item
changes and ``eventId`` on custom events (for dropping duplicates); ``since`` on a join (the
last frame ``timestamp`` the client saw), answered with the custom events sent after it when
they are still within the replay window, else with a ``resync`` custom event
``{"reason", "since"}``, never with silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pydantic_core

from . import jsonsafe
from .errors import MotiaError
from .ports.streams import StreamChange

# Error codes carried in error frames.
INVALID_MESSAGE = "INVALID_MESSAGE"
STREAM_NOT_FOUND = "STREAM_NOT_FOUND"
STREAM_ACCESS_DENIED = "STREAM_ACCESS_DENIED"
FRAME_TOO_LARGE = "FRAME_TOO_LARGE"
SUBSCRIPTION_LIMIT = "SUBSCRIPTION_LIMIT"  # the connection holds as many subscriptions as allowed
EVENT_NOT_ALLOWED = "EVENT_NOT_ALLOWED"  # a client event the stream does not take, or not from this client
INVALID_EVENT = "INVALID_EVENT"  # a client event whose type or data breaks the stream's rules
RATE_LIMITED = "RATE_LIMITED"  # more client events than the stream allows per connection
INTERNAL_ERROR = "INTERNAL_ERROR"
PROJECT_NOT_LOADED = "PROJECT_NOT_LOADED"  # motia dev: a step or stream fails to load (hosts/local/broken.py)

# The custom event telling a client that what it missed cannot be replayed (see module doc).
RESYNC = "resync"


MAX_CLIENT_FRAME_BYTES = 32 * 1024  # API Gateway's WebSocket frame size
# Names and ids are DynamoDB key parts on AWS (a room key is at most 2048 bytes); a longer one is
# refused here, with an error frame, rather than by DynamoDB.
MAX_NAME_CHARS = 256

Room = tuple[str, str, str | None]  # (stream, group, id or None for the whole group)


@dataclass(frozen=True, slots=True)
class Subscription:
    stream_name: str
    group_id: str
    id: str | None
    subscription_id: str

    @property
    def room(self) -> Room:
        return (self.stream_name, self.group_id, self.id)

    def to_wire(self) -> dict[str, Any]:
        data = {"streamName": self.stream_name, "groupId": self.group_id, "subscriptionId": self.subscription_id}
        if self.id is not None:
            data["id"] = self.id
        return data


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: Literal["join", "leave", "event"]
    subscription: Subscription  # for an event: the group (or item) it is sent to; no subscription id
    since: int | None = None  # join only: replay the custom events stamped after this
    event: dict[str, Any] | None = None  # event only: {"type", "data"}
    presence: Any = None  # join only: the client's presence state (streams with presence)


class ProtocolError(MotiaError):
    """A client frame that cannot be acted on; ``frame_fields`` echo what could be read of it."""

    def __init__(self, code: str, message: str, stream_name: str | None = None, group_id: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.stream_name = stream_name
        self.group_id = group_id
        self.id = id


def parse_client_message(raw: str | bytes) -> ClientMessage:
    try:  # size, syntax, depth, digits, NaN: one policy for every body and frame (jsonsafe)
        message = jsonsafe.loads(raw, max_bytes=MAX_CLIENT_FRAME_BYTES, what="frame")
    except jsonsafe.InvalidJSONError as exc:
        raise ProtocolError(INVALID_MESSAGE, str(exc)) from None
    if not isinstance(message, dict):
        raise ProtocolError(INVALID_MESSAGE, "frame must be a JSON object")
    kind = message.get("type")
    data = message.get("data")
    if kind not in ("join", "leave", "event"):
        raise ProtocolError(INVALID_MESSAGE, f"unknown message type {kind!r}; expected 'join', 'leave' or 'event'")
    if not isinstance(data, dict):
        raise ProtocolError(INVALID_MESSAGE, f"{kind}: 'data' must be an object")
    stream, group, id, sub_id = (data.get(k) for k in ("streamName", "groupId", "id", "subscriptionId"))
    echo = {
        "stream_name": stream if isinstance(stream, str) else None,
        "group_id": group if isinstance(group, str) else None,
        "id": id if isinstance(id, str) else None,
    }
    if kind == "event":
        sub_id = sub_id if isinstance(sub_id, str) and sub_id else "-"  # an event names no subscription
    missing = [name for name, value in (("streamName", stream), ("groupId", group), ("subscriptionId", sub_id))
               if not isinstance(value, str) or not value]
    if id is not None and (not isinstance(id, str) or not id):
        missing.append("id")
    if missing:
        raise ProtocolError(INVALID_MESSAGE, f"{kind}: missing or empty {', '.join(missing)}", **echo)
    assert isinstance(stream, str) and isinstance(group, str) and isinstance(sub_id, str)  # checked just above
    long = [name for name, value in (("streamName", stream), ("groupId", group), ("id", id), ("subscriptionId", sub_id))
            if isinstance(value, str) and len(value) > MAX_NAME_CHARS]
    if long:
        raise ProtocolError(INVALID_MESSAGE, f"{kind}: {', '.join(long)} over {MAX_NAME_CHARS} characters",
                            **{k: (v if v is None or len(v) <= MAX_NAME_CHARS else None) for k, v in echo.items()})
    since = data.get("since")
    if kind == "join" and since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        raise ProtocolError(INVALID_MESSAGE, "join: 'since' must be a non-negative integer (a frame timestamp)", **echo)
    event: Any = data.get("event")  # checked below when kind is "event"
    if kind == "event" and (not isinstance(event, dict) or not isinstance(event.get("type"), str)
                            or not event["type"] or len(event["type"]) > MAX_NAME_CHARS):
        raise ProtocolError(INVALID_MESSAGE, "event: 'event' must be {\"type\": <name>, \"data\": ...}", **echo)
    return ClientMessage(kind, Subscription(stream, group, id, sub_id), since if kind == "join" else None,
                         {"type": event["type"], "data": event.get("data")} if kind == "event" else None,
                         data.get("presence") if kind == "join" else None)


def encode(frame: dict[str, Any]) -> str:
    return pydantic_core.to_json(frame).decode()


def frame(stream: str, group: str, id: str | None, event: dict[str, Any], timestamp: int,
          version: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"timestamp": timestamp, "streamName": stream, "groupId": group}
    if id is not None:
        out["id"] = id
    out["event"] = event
    if version is not None:
        out["version"] = version
    return out


def change_frame(change: StreamChange) -> dict[str, Any]:
    if change.type == "event":
        out = frame(change.stream_name, change.group_id, change.id, {"type": "event", "event": change.data},
                    change.timestamp)
        if change.event_id is not None:
            out["eventId"] = change.event_id
        return out
    return frame(change.stream_name, change.group_id, change.id, {"type": change.type, "data": change.data},
                 change.timestamp, change.version)


def resync_frame(sub: Subscription, reason: str, since: int, timestamp: int) -> dict[str, Any]:
    """Tells a rejoining client that custom events after ``since`` cannot all be replayed."""
    event = {"type": "event", "event": {"type": RESYNC, "data": {"reason": reason, "since": since}}}
    return frame(sub.stream_name, sub.group_id, sub.id, event, timestamp)


def replays_to(change: StreamChange, sub: Subscription) -> bool:
    """Whether a sent event reaches ``sub`` (the rule of :func:`rooms_for`, seen from the room)."""
    return (change.stream_name == sub.stream_name and change.group_id == sub.group_id
            and (sub.id is None or change.id == sub.id))


def sync_frame(sub: Subscription, data: Any, timestamp: int) -> dict[str, Any]:
    return frame(sub.stream_name, sub.group_id, sub.id, {"type": "sync", "data": data}, timestamp)


def event_frame(stream: str, group: str, id: str | None, type: str, data: Any, timestamp: int) -> dict[str, Any]:
    """A custom event frame for one client (what ``send`` pushes to many)."""
    return frame(stream, group, id, {"type": "event", "event": {"type": type, "data": data}}, timestamp)


def error_frame(code: str, message: str, timestamp: int, stream: str | None = None, group: str | None = None,
                id: str | None = None) -> dict[str, Any]:
    event = {"type": "event", "event": {"type": "error", "data": {"code": code, "message": message}}}
    return frame(stream or "", group or "", id, event, timestamp)


def rooms_for(change: StreamChange) -> list[Room]:
    """The rooms a change reaches: the group's, and the item's when it has an id."""
    group_room: Room = (change.stream_name, change.group_id, None)
    if change.id is None:
        return [group_room]
    return [group_room, (change.stream_name, change.group_id, change.id)]

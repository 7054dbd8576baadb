"""The stream wire protocol, compatible with Motia's own clients.

Client → server: ``{"type": "join"|"leave", "data": {"streamName", "groupId", "id"?, "subscriptionId"}}``.

Server → client: ``{"timestamp", "streamName", "groupId", "id"?, "event": E}`` where E is
``{"type": "sync", "data": item | [items]}``, ``{"type": "create"|"update"|"delete", "data": item}``
or ``{"type": "event", "event": {"type", "data"}}``. Errors are custom events of type ``error``
with ``{"code", "message"}``. Our additive extension is a top-level ``version`` on item changes,
which Motia's clients ignore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pydantic_core

from .ports.streams import StreamChange

# Error codes carried in error frames.
INVALID_MESSAGE = "INVALID_MESSAGE"
STREAM_NOT_FOUND = "STREAM_NOT_FOUND"
STREAM_ACCESS_DENIED = "STREAM_ACCESS_DENIED"

MAX_CLIENT_FRAME_BYTES = 32 * 1024

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
    type: Literal["join", "leave"]
    subscription: Subscription


class ProtocolError(Exception):
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
    if len(raw) > MAX_CLIENT_FRAME_BYTES:
        raise ProtocolError(INVALID_MESSAGE, f"frame is over {MAX_CLIENT_FRAME_BYTES} bytes")
    try:
        message = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(INVALID_MESSAGE, f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError(INVALID_MESSAGE, "frame must be a JSON object")
    kind = message.get("type")
    data = message.get("data")
    if kind not in ("join", "leave"):
        raise ProtocolError(INVALID_MESSAGE, f"unknown message type {kind!r}; expected 'join' or 'leave'")
    if not isinstance(data, dict):
        raise ProtocolError(INVALID_MESSAGE, f"{kind}: 'data' must be an object")
    stream, group, id, sub_id = (data.get(k) for k in ("streamName", "groupId", "id", "subscriptionId"))
    echo = {
        "stream_name": stream if isinstance(stream, str) else None,
        "group_id": group if isinstance(group, str) else None,
        "id": id if isinstance(id, str) else None,
    }
    missing = [name for name, value in (("streamName", stream), ("groupId", group), ("subscriptionId", sub_id))
               if not isinstance(value, str) or not value]
    if id is not None and (not isinstance(id, str) or not id):
        missing.append("id")
    if missing:
        raise ProtocolError(INVALID_MESSAGE, f"{kind}: missing or empty {', '.join(missing)}", **echo)
    return ClientMessage(kind, Subscription(stream, group, id, sub_id))


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
        event = {"type": "event", "event": change.data}
    else:
        event = {"type": change.type, "data": change.data}
    return frame(change.stream_name, change.group_id, change.id, event, change.timestamp, change.version)


def sync_frame(sub: Subscription, data: Any, timestamp: int) -> dict[str, Any]:
    return frame(sub.stream_name, sub.group_id, sub.id, {"type": "sync", "data": data}, timestamp)


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

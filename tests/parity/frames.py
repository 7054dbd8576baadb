"""What the parity suite compares: a subscription's frames in a form that is equal across hosts
when the hosts behave the same.

- Timestamps and generated ids are taken out: keys named in ``DROP`` are dropped, and each
  generated value (a pet id, a group id = trace id) is replaced by a placeholder everywhere,
  inside strings too.
- A group's frames are split item by item (``items[id]`` is the item's successive states, the
  ``sync`` snapshot's included), because concurrent steps interleave their items differently
  from run to run on any live host. Custom events (errors included) stay in one ordered list.
- A change equal to the state the subscription already holds for that item is counted in
  ``repeats`` and left out: the AWS hosts may deliver a write that was already in the join's
  ``sync`` (docs/cloud-local.md, "Differences between the hosts").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DROP = {"timestamp", "_createdAt", "_updatedAt", "eventId", "createdAt", "updatedAt", "expiresAt"}
DELETED = "<deleted>"
NONE = "<none>"


def normalize(value: Any, placeholders: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: normalize(v, placeholders) for k, v in value.items() if k not in DROP}
    if isinstance(value, list):
        return [normalize(v, placeholders) for v in value]
    if isinstance(value, str):
        for actual, placeholder in placeholders.items():
            value = value.replace(actual, placeholder)
    return value


@dataclass
class Canonical:
    items: dict[str, list[Any]] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    repeats: int = 0

    def record(self, item_id: str, state: Any) -> None:
        history = self.items.setdefault(item_id, [])
        if history and history[-1] == state:
            self.repeats += 1
        else:
            history.append(state)

    def comparable(self) -> dict[str, Any]:
        return {"items": self.items, "events": self.events}


def canonical(frames: list[dict[str, Any]], stream: str, group: str, item: str | None = None,
              placeholders: dict[str, str] | None = None) -> Canonical:
    subs = placeholders or {}
    out = Canonical()
    for frame in frames:
        if frame.get("streamName") != stream or frame.get("groupId") != group:
            continue
        if item is not None and frame.get("id") not in (item, None):
            continue
        event = frame.get("event") or {}
        kind = event.get("type")
        if kind == "sync":
            data = event.get("data")
            if isinstance(data, list):
                for entry in sorted(data, key=lambda d: str(d.get("id"))):
                    out.record(str(entry.get("id")), normalize(entry, subs))
            else:
                out.record(item or NONE, normalize(data, subs) if data is not None else NONE)
        elif kind in ("create", "update"):
            data = event.get("data") or {}
            out.record(str(data.get("id", frame.get("id"))), normalize(data, subs))
        elif kind == "delete":
            data = event.get("data") or {}
            out.record(str(data.get("id", frame.get("id"))), DELETED)
        elif kind == "event":
            custom = event.get("event") or {}
            out.events.append({"type": custom.get("type"), "data": normalize(custom.get("data"), subs)})
    return out


def error_frames(frames: list[dict[str, Any]], placeholders: dict[str, str] | None = None) -> list[Any]:
    """The error events a connection got, whatever subscription they name, normalized."""
    return [normalize({k: v for k, v in f.items() if k != "timestamp"}, placeholders or {}) for f in frames
            if (f.get("event") or {}).get("type") == "event" and f["event"].get("event", {}).get("type") == "error"]

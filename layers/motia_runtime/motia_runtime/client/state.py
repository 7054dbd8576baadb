"""How a subscription's state follows the frames: pure reducers, no I/O.

The rules are Motia's client rules (item: sync/create/update set it, delete sets None; group:
sync replaces the list, create appends an unknown id, update replaces by id, delete removes),
with one change to ordering. Motia drops any frame whose ``timestamp`` is not above the last
one seen, which loses a second update stamped in the same millisecond. Here each item keeps a
``Mark`` and a frame is applied when it is newer than it: by ``version`` when both the frame and
the mark have one (our servers send it), else by ``timestamp``.

A ``sync`` sets the floor: it is the server's snapshot taken after the join was registered, and
its stamp was taken before the read, so a change frame stamped at or below it is already in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .frames import ServerFrame


@dataclass(frozen=True, slots=True)
class Mark:
    """What a subscription last applied for one item id."""

    timestamp: int
    version: int | None = None
    deleted: bool = False  # the id is absent: deleted, or not in the last sync


def is_newer(frame: ServerFrame, mark: Mark | None) -> bool:
    if mark is None:
        return True
    if frame.kind == "create" and mark.deleted:
        # A create after a delete starts a new life of the id, whose version counts from 1
        # again, so only the clock can order it against the delete (same ms allowed).
        return frame.timestamp >= mark.timestamp
    if frame.version is not None and mark.version is not None:
        return frame.version > mark.version
    return frame.timestamp > mark.timestamp


def _mark_of(frame: ServerFrame) -> Mark:
    return Mark(frame.timestamp, frame.version, deleted=frame.kind == "delete")



class ItemState:
    """One item: ``value`` is the item, or None when it does not exist."""

    def __init__(self) -> None:
        self.value: dict[str, Any] | None = None
        self.synced = False
        self.mark: Mark | None = None
        self._sync_stamp = -1

    def apply(self, frame: ServerFrame) -> bool:
        """Apply ``frame``; True when it was not stale."""
        if frame.kind == "sync":
            if frame.timestamp < self._sync_stamp:
                return False  # an older snapshot (another join's) overtaken by a newer one
            self._sync_stamp = frame.timestamp
            self.value = frame.data if isinstance(frame.data, dict) else None
            self.mark = Mark(frame.timestamp, None, deleted=self.value is None)
            self.synced = True
            return True
        if frame.kind not in ("create", "update", "delete") or not is_newer(frame, self.mark):
            return False
        self.value = None if frame.kind == "delete" else frame.data
        self.mark = _mark_of(frame)
        return True

    def rejoin(self) -> None:
        """A new connection's sync wins whatever its stamp (another server's clock may be behind)."""
        self._sync_stamp = -1


class GroupState:
    """A group's items in server order (oldest ``_createdAt`` first), or sorted by ``sort_key``."""

    def __init__(self, sort_key: str | None = None) -> None:
        self.items: list[dict[str, Any]] = []
        self.synced = False
        self.sort_key = sort_key
        self.marks: dict[str, Mark] = {}
        self.floor: Mark | None = None  # the last sync: ids not in it count as absent at its stamp

    def apply(self, frame: ServerFrame) -> bool:
        if frame.kind == "sync":
            if self.floor is not None and frame.timestamp < self.floor.timestamp:
                return False
            items = [i for i in frame.data if isinstance(i, dict)] if isinstance(frame.data, list) else []
            self.floor = Mark(frame.timestamp, None, deleted=True)
            self.marks = {str(i.get("id")): Mark(frame.timestamp) for i in items}
            self.items = self._sorted(items)
            self.synced = True
            return True
        if frame.kind not in ("create", "update", "delete") or frame.id is None:
            return False
        if not is_newer(frame, self.marks.get(frame.id, self.floor)):
            return False
        self.marks[frame.id] = _mark_of(frame)
        # A new list on every change, so states already handed out never change under their holder.
        rest = [i for i in self.items if i.get("id") != frame.id]
        if frame.kind == "delete":
            self.items = rest
        elif len(rest) == len(self.items):
            # create, or an update of an id this client has not seen: append (upsert).
            self.items = self._sorted([*self.items, frame.data])
        else:
            self.items = self._sorted([frame.data if i.get("id") == frame.id else i for i in self.items])
        return True

    def rejoin(self) -> None:
        """A new connection's sync wins whatever its stamp (another server's clock may be behind)."""
        self.floor = None

    def _sorted(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.sort_key is None:
            return items
        key = self.sort_key
        # Motia compares ``String(a[key]).localeCompare(String(b[key]))``; Python's str order is
        # the nearest locale-free equivalent. ``sorted`` is stable, so ties keep server order.
        return sorted(items, key=lambda item: str(item.get(key, "")))

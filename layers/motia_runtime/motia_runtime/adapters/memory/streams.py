from __future__ import annotations

import copy
from typing import Any

from ...ports.streams import Mutation, StreamChange, StreamStore, stored_item


class MemoryStreamStore(StreamStore):
    """Items in a dict; writes never yield to the event loop, so each is atomic."""

    def __init__(self, clock: Any = None) -> None:
        super().__init__(clock)
        # (stream, group) -> id -> (item, version)
        self._groups: dict[tuple[str, str], dict[str, tuple[dict[str, Any], int]]] = {}

    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        entry = self._groups.get((stream, group_id), {}).get(id)
        return copy.deepcopy(entry[0]) if entry else None

    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        items = [copy.deepcopy(item) for item, _ in self._groups.get((stream, group_id), {}).values()]
        return sorted(items, key=lambda i: (i["_createdAt"], i["id"]))

    def _write(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        group = self._groups.setdefault((stream, group_id), {})
        ts = self.clock.tick()
        previous = group.get(id)
        created_at = previous[0]["_createdAt"] if previous else ts
        version = previous[1] + 1 if previous else 1
        item = stored_item(copy.deepcopy(data), id, created_at)
        group[id] = (item, version)
        kind = "update" if previous else "create"
        change = StreamChange(stream, group_id, id, kind, copy.deepcopy(item), ts, version)
        self._notify(change)
        return change

    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        return self._write(stream, group_id, id, data)

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        entry = self._groups.get((stream, group_id), {}).get(id)
        return self._write(stream, group_id, id, fn(copy.deepcopy(entry[0]) if entry else None))

    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        group = self._groups.get((stream, group_id))
        if not group or id not in group:
            return None
        item, version = group.pop(id)
        if not group:
            del self._groups[(stream, group_id)]
        change = StreamChange(stream, group_id, id, "delete", item, self.clock.tick(), version + 1)
        self._notify(change)
        return change

    async def list_groups(self, stream: str) -> list[str]:
        return sorted(g for s, g in self._groups if s == stream)

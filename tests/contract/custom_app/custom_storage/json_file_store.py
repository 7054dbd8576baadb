"""A custom stream store: items kept in one JSON file (the example in docs/storage.md).

Single-process: the file is read once and rewritten (atomically) after every change. No method
awaits between reading and writing, so each write is atomic on the event loop.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from motia_runtime.ports.streams import Mutation, StreamChange, StreamStore, stored_item

Entry = dict[str, Any]  # {"item": stored item, "version": n, "ts": last stamp}


class JsonFileStreamStore(StreamStore):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        # stream -> group -> id -> entry
        self.data: dict[str, dict[str, dict[str, Entry]]] = json.loads(path.read_text()) if path.exists() else {}
        # Stamps must keep increasing across restarts, even if the wall clock went back.
        stamps = [e["ts"] for groups in self.data.values() for items in groups.values() for e in items.values()]
        self.clock.advance_to(max(stamps, default=0))

    def _save(self) -> None:
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps(self.data))
        os.replace(temp, self.path)

    def _entry(self, stream: str, group_id: str, id: str) -> Entry | None:
        return self.data.get(stream, {}).get(group_id, {}).get(id)

    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        entry = self._entry(stream, group_id, id)
        return copy.deepcopy(entry["item"]) if entry else None

    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        items = [copy.deepcopy(e["item"]) for e in self.data.get(stream, {}).get(group_id, {}).values()]
        return sorted(items, key=lambda i: (i["_createdAt"], i["id"]))

    async def list_groups(self, stream: str) -> list[str]:
        return sorted(g for g, items in self.data.get(stream, {}).items() if items)

    def _write(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        ts = self.clock.tick()
        group = self.data.setdefault(stream, {}).setdefault(group_id, {})
        old = group.get(id)
        item = stored_item(copy.deepcopy(data), id, old["item"]["_createdAt"] if old else ts)
        version = old["version"] + 1 if old else 1
        group[id] = {"item": item, "version": version, "ts": ts}
        self._save()
        change = StreamChange(stream, group_id, id, "update" if old else "create", copy.deepcopy(item), ts, version)
        self._notify(change)  # the local host pushes it to WebSocket clients
        return change

    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        return self._write(stream, group_id, id, data)

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        entry = self._entry(stream, group_id, id)
        return self._write(stream, group_id, id, fn(copy.deepcopy(entry["item"]) if entry else None))

    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        group = self.data.get(stream, {}).get(group_id, {})
        old = group.pop(id, None)
        if old is None:
            return None
        if not group:
            del self.data[stream][group_id]
        self._save()
        change = StreamChange(stream, group_id, id, "delete", old["item"], self.clock.tick(), old["version"] + 1)
        self._notify(change)
        return change

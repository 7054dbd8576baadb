from __future__ import annotations

import json
from typing import Any

from ...clock import MonotonicClock
from ...jsonsafe import loads_stored
from ...ports.streams import Mutation, StreamChange, StreamStore, stored_item
from .db import Database


class SQLiteStreamStore(StreamStore):
    """Stream items in SQLite. Each write is one statement and does not yield to the event loop,
    so a write and its notification happen together, in commit order."""

    def __init__(self, db: Database, clock: MonotonicClock | None = None) -> None:
        super().__init__(clock)
        self.db = db
        # Stamps must keep increasing across restarts, even if the wall clock went back.
        (latest,) = db.conn.execute("SELECT COALESCE(MAX(updated_at), 0) FROM stream_items").fetchone()
        self.clock.advance_to(latest)

    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        row = self.db.conn.execute(
            "SELECT data, created_at FROM stream_items WHERE stream=? AND grp=? AND id=?", (stream, group_id, id)
        ).fetchone()
        return stored_item(loads_stored(row[0]), id, row[1]) if row else None

    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        rows = self.db.conn.execute(
            "SELECT id, data, created_at FROM stream_items WHERE stream=? AND grp=? ORDER BY created_at, id",
            (stream, group_id),
        ).fetchall()
        return [stored_item(loads_stored(data), id, created) for id, data, created in rows]

    def _write(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        ts = self.clock.tick()
        created_at, version = self.db.conn.execute(
            "INSERT INTO stream_items (stream, grp, id, data, created_at, updated_at, version) VALUES (?,?,?,?,?,?,1) "
            "ON CONFLICT (stream, grp, id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at, "
            "version=version+1 RETURNING created_at, version",
            (stream, group_id, id, json.dumps(data), ts, ts),
        ).fetchone()
        kind = "create" if version == 1 else "update"
        change = StreamChange(stream, group_id, id, kind, stored_item(data, id, created_at), ts, version)
        self._notify(change)
        return change

    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        return self._write(stream, group_id, id, data)

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        # No await between the read and the write: nothing else runs on the loop in between.
        current = await self.get(stream, group_id, id)
        return self._write(stream, group_id, id, fn(current))

    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        row = self.db.conn.execute(
            "DELETE FROM stream_items WHERE stream=? AND grp=? AND id=? RETURNING data, created_at, version",
            (stream, group_id, id),
        ).fetchone()
        if row is None:
            return None
        change = StreamChange(stream, group_id, id, "delete", stored_item(loads_stored(row[0]), id, row[1]),
                              self.clock.tick(), row[2] + 1)
        self._notify(change)
        return change

    async def list_groups(self, stream: str) -> list[str]:
        rows = self.db.conn.execute("SELECT DISTINCT grp FROM stream_items WHERE stream=? ORDER BY grp", (stream,))
        return [r[0] for r in rows]

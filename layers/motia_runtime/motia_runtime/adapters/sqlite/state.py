from __future__ import annotations

import json
import time
from typing import Any

from ...jsonsafe import loads_stored
from ...ports.state import StateMutation, StatePage, StateStore, check_page_args, page_of
from .db import Database


class SQLiteStateStore(StateStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, group: str, key: str) -> Any | None:
        row = self.db.conn.execute("SELECT value FROM state WHERE grp=? AND key=?", (group, key)).fetchone()
        return loads_stored(row[0]) if row else None

    async def mutate(self, group: str, key: str, fn: StateMutation) -> tuple[Any | None, Any]:
        _, old, new = await self.mutate_entry(group, key, fn)
        return old, new

    async def mutate_entry(self, group: str, key: str, fn: StateMutation) -> tuple[bool, Any | None, Any]:
        # The read and the write run on the loop's thread with no await between them, and only
        # this connection writes the table (workers share state through Redis), so nothing can
        # come between them.
        row = self.db.conn.execute("SELECT value FROM state WHERE grp=? AND key=?", (group, key)).fetchone()
        old = loads_stored(row[0]) if row else None
        new = fn(json.loads(json.dumps(old)) if old is not None else None)
        await self.set(group, key, new)
        return row is not None, old, new

    async def set(self, group: str, key: str, value: Any) -> Any:
        self.db.conn.execute(
            "INSERT INTO state (grp, key, value, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT (grp, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            (group, key, json.dumps(value), int(time.time() * 1000)),
        )
        return value

    async def delete(self, group: str, key: str) -> Any | None:
        return (await self.delete_entry(group, key))[1]

    async def delete_entry(self, group: str, key: str) -> tuple[bool, Any | None]:
        row = self.db.conn.execute("DELETE FROM state WHERE grp=? AND key=? RETURNING value", (group, key)).fetchone()
        return (True, loads_stored(row[0])) if row else (False, None)

    async def get_group(self, group: str) -> list[Any]:
        return [value for _, value in await self.items(group)]

    async def items(self, group: str) -> list[tuple[str, Any]]:
        rows = self.db.conn.execute("SELECT key, value FROM state WHERE grp=? ORDER BY rowid", (group,)).fetchall()
        return [(k, loads_stored(v)) for k, v in rows]

    async def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage:
        # The primary key (grp, key) is the index this walks: only the page's rows are read.
        # BINARY collation compares UTF-8 bytes, which is code point order.
        check_page_args(limit)
        op, order = ("<", "DESC") if descending else (">", "ASC")
        bound = f" AND key {op} ?" if after is not None else ""
        rows = self.db.conn.execute(
            f"SELECT key, value FROM state WHERE grp=?{bound} ORDER BY key {order} LIMIT ?",
            (group, *([after] if after is not None else []), limit + 1),
        ).fetchall()
        return page_of([(k, loads_stored(v)) for k, v in rows], limit)

    async def clear(self, group: str) -> None:
        self.db.conn.execute("DELETE FROM state WHERE grp=?", (group,))

    async def list_groups(self) -> list[str]:
        return [r[0] for r in self.db.conn.execute("SELECT DISTINCT grp FROM state ORDER BY grp")]

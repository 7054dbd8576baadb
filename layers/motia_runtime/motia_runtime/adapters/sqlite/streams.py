"""Stream items in SQLite, with the durable history of sent events and item TTLs.

History: ``send()`` events are rows of ``stream_history`` (one commit with nothing else), kept
``StreamConfig.history.window_s`` seconds and at most ``max_events`` per group; the newest stamp
a count bound dropped is kept in ``stream_history_marks``, so a ``since`` before it gets None
(a ``resync``). ``meta.stream_history_from`` is the stamp this database started keeping history
at: a ``since`` older than that may have missed events written before the upgrade.

TTL: ``expires_at`` (epoch ms, NULL for none) on the item's row. Reads skip expired rows; the
sweeper (``astart``, every ``SWEEP_EVERY_S``) deletes them and notifies a ``delete`` change each,
which the hub pushes like any delete, and hands it to the expiry listeners (the stream's triggers).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from typing import Any

import pydantic_core

from ...clock import MonotonicClock
from ...jsonsafe import loads_stored
from ...ports.streams import ChangeType, Mutation, StreamChange, StreamStore, now_ms, stored_item
from ...tasks import stop_task
from .db import Database

SWEEP_EVERY_S = 0.5  # an expired item's delete reaches clients within about this long
TRIM_EVERY = 20  # sweeps between trims of history past its window (10 s)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
# set()'s write when the store knows the item's creation stamp and version: the upsert below
# without RETURNING (7 µs less, bench/optimisations.md S2), guarded by both, so it lands only
# on the row as this store last wrote it; else it changes nothing and the upsert runs instead.
_REPLACE_KNOWN = ("UPDATE stream_items SET data=?, updated_at=?, version=version+1, expires_at=NULL "
                  "WHERE stream=? AND grp=? AND id=? AND created_at=? AND version=? "
                  "AND (expires_at IS NULL OR expires_at > ?)")
KNOWN_ITEMS = 10_000  # (creation stamp, version) kept for this many items at most

_HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS stream_history (
    stream TEXT NOT NULL, grp TEXT NOT NULL, ts INTEGER NOT NULL, event_id TEXT NOT NULL, id TEXT,
    event TEXT NOT NULL, PRIMARY KEY (stream, grp, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stream_history_marks (
    stream TEXT NOT NULL, grp TEXT NOT NULL, evicted_to INTEGER NOT NULL, PRIMARY KEY (stream, grp)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stream_items_expiry ON stream_items (expires_at) WHERE expires_at IS NOT NULL;
"""


def _migrate(conn: sqlite3.Connection) -> None:
    """Add what this version keeps to a database an older one made (additive: older versions
    still read it)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(stream_items)")}
    if "expires_at" not in columns:
        try:
            conn.execute("ALTER TABLE stream_items ADD COLUMN expires_at INTEGER")
        except sqlite3.OperationalError as exc:  # another worker added it first
            if "duplicate column" not in str(exc):
                raise
    conn.executescript(_HISTORY_SCHEMA)


class SQLiteStreamStore(StreamStore):
    """Stream items in SQLite. Each write is one statement and does not yield to the event loop,
    so a write and its notification happen together, in commit order. Item writes commit with
    the others of their loop turn (``Database.join_group``)."""

    def __init__(self, db: Database, clock: MonotonicClock | None = None) -> None:
        super().__init__(clock)
        self.db = db
        _migrate(db.conn)
        # Stamps must keep increasing across restarts, even if the wall clock went back.
        (latest,) = db.conn.execute("SELECT COALESCE(MAX(updated_at), 0) FROM stream_items").fetchone()
        (sent,) = db.conn.execute("SELECT COALESCE(MAX(ts), 0) FROM stream_history").fetchone()
        self.clock.advance_to(max(latest, sent))
        db.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('stream_history_from', ?)",
                        (self.clock.tick(),))
        (self.history_from,) = db.conn.execute(
            "SELECT value FROM meta WHERE key = 'stream_history_from'").fetchone()
        self._sweeper: asyncio.Task[None] | None = None
        # (stream, group, id) -> (created_at, version) as this store last wrote them. Only a hint:
        # _REPLACE_KNOWN checks both against the row, so a stale entry costs one statement.
        self._known: dict[tuple[str, str, str], tuple[int, int]] = {}
        # The known item's UPDATE through one cursor kept for it: Connection.execute makes a
        # cursor per call (sqlite3's statement cache already keeps the statement prepared).
        self._replace = db.conn.cursor().execute

    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        row = self.db.conn.execute(
            f"SELECT data, created_at FROM stream_items WHERE stream=? AND grp=? AND id=? AND {_LIVE}",
            (stream, group_id, id, now_ms()),
        ).fetchone()
        return stored_item(loads_stored(row[0]), id, row[1]) if row else None

    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        rows = self.db.conn.execute(
            f"SELECT id, data, created_at FROM stream_items WHERE stream=? AND grp=? AND {_LIVE} "
            "ORDER BY created_at, id",
            (stream, group_id, now_ms()),
        ).fetchall()
        return [stored_item(loads_stored(data), id, created) for id, data, created in rows]

    def _write(self, stream: str, group_id: str, id: str, data: dict[str, Any],
               expires_at: int | None = None, encoded: bytes | None = None) -> StreamChange:
        self.db.join_group()
        ts = self.clock.tick()
        text = (pydantic_core.to_json(data) if encoded is None else encoded).decode()
        key = (stream, group_id, id)
        known = self._known.get(key) if expires_at is None else None
        if known is not None and self._replace(
                _REPLACE_KNOWN, (text, ts, stream, group_id, id, known[0], known[1], ts)).rowcount == 1:
            created_at, version = known[0], known[1] + 1
            self._known[key] = (created_at, version)
            change = StreamChange(stream, group_id, id, "update", stored_item(data, id, created_at), ts, version)
            self._notify(change)
            return change
        # An expired row the sweeper has not removed yet is written over as a new item.
        created_at, version = self.db.conn.execute(
            "INSERT INTO stream_items (stream, grp, id, data, created_at, updated_at, version, expires_at) "
            "VALUES (?,?,?,?,?,?,1,?) ON CONFLICT (stream, grp, id) DO UPDATE SET data=excluded.data, "
            "updated_at=excluded.updated_at, expires_at=excluded.expires_at, "
            "created_at=CASE WHEN expires_at <= excluded.updated_at THEN excluded.created_at ELSE created_at END, "
            "version=CASE WHEN expires_at <= excluded.updated_at THEN 1 ELSE version+1 END "
            "RETURNING created_at, version",
            # The item is plain JSON already (the stream API validated it): pydantic's encoder does
            # it in a fifth of json.dumps's time (bench/optimisations.md, B8 as perfbus measured it).
            (stream, group_id, id, text, ts, ts, expires_at),
        ).fetchone()
        if len(self._known) >= KNOWN_ITEMS and key not in self._known:
            self._known.clear()  # the items written since will be known again after one upsert each
        self._known[key] = (created_at, version)
        kind: ChangeType = "create" if version == 1 else "update"
        change = StreamChange(stream, group_id, id, kind, stored_item(data, id, created_at), ts, version)
        self._notify(change)
        return change

    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        return self._write(stream, group_id, id, data)

    async def set_json(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                       encoded: bytes) -> StreamChange:
        return self._write(stream, group_id, id, data, encoded=encoded)

    async def set_expiring(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                           expires_at: int) -> StreamChange:
        return self._write(stream, group_id, id, data, expires_at)

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        # The item's TTL stays: ``update`` changes the data, not how long it lives.
        return self._mutate(stream, group_id, id, fn, keep_expiry=True)

    async def mutate_expiring(self, stream: str, group_id: str, id: str, fn: Mutation,
                              expires_at: int | None) -> StreamChange:
        return self._mutate(stream, group_id, id, fn, keep_expiry=False, expires_at=expires_at)

    def _mutate(self, stream: str, group_id: str, id: str, fn: Mutation, *, keep_expiry: bool,
                expires_at: int | None = None) -> StreamChange:
        # No await between the read and the write: nothing else runs on the loop in between.
        row = self.db.conn.execute(
            f"SELECT data, created_at, expires_at FROM stream_items WHERE stream=? AND grp=? AND id=? AND {_LIVE}",
            (stream, group_id, id, now_ms()),
        ).fetchone()
        current = stored_item(loads_stored(row[0]), id, row[1]) if row else None
        if keep_expiry:
            expires_at = row[2] if row else None
        return self._write(stream, group_id, id, fn(current), expires_at)

    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        self.db.join_group()
        row = self.db.conn.execute(
            "DELETE FROM stream_items WHERE stream=? AND grp=? AND id=? "
            "RETURNING data, created_at, version, expires_at",
            (stream, group_id, id),
        ).fetchone()
        if row is None:
            return None
        change = StreamChange(stream, group_id, id, "delete", stored_item(loads_stored(row[0]), id, row[1]),
                              self.clock.tick(), row[2] + 1)
        self._notify(change)  # an expired item too: it is the delete the sweeper would have pushed
        if row[3] is not None and row[3] <= now_ms():
            await self._notify_expired(change)  # and its expiry's triggers, which the sweeper would have run
            return None
        return change

    async def list_groups(self, stream: str) -> list[str]:
        rows = self.db.conn.execute(
            f"SELECT DISTINCT grp FROM stream_items WHERE stream=? AND {_LIVE} ORDER BY grp", (stream, now_ms()))
        return [r[0] for r in rows]

    # -- sent events and their history ------------------------------------------------------
    async def send(self, stream: str, group_id: str, id: str | None, event: dict[str, Any]) -> StreamChange:
        policy = self.history_policy(stream)
        change = StreamChange(stream, group_id, id, "event", event, self.clock.tick(), event_id=uuid.uuid4().hex)
        if policy.window_s > 0:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO stream_history VALUES (?,?,?,?,?,?)",
                             (stream, group_id, change.timestamp, change.event_id, id,
                              pydantic_core.to_json(event).decode()))
                # The count bound: past max_events the oldest go, and the newest of those is marked.
                over = conn.execute("SELECT ts FROM stream_history WHERE stream=? AND grp=? ORDER BY ts DESC "
                                    "LIMIT 1 OFFSET ?", (stream, group_id, policy.max_events)).fetchone()
                if over is not None:
                    conn.execute("DELETE FROM stream_history WHERE stream=? AND grp=? AND ts<=?",
                                 (stream, group_id, over[0]))
                    conn.execute("INSERT INTO stream_history_marks VALUES (?,?,?) ON CONFLICT (stream, grp) "
                                 "DO UPDATE SET evicted_to=MAX(evicted_to, excluded.evicted_to)",
                                 (stream, group_id, over[0]))
        self._notify(change)
        return change

    async def history(self, stream: str, group_id: str, since: int | None) -> list[StreamChange] | None:
        policy = self.history_policy(stream)
        if policy.window_s == 0:
            return None
        floor = now_ms() - policy.window_s * 1000
        if since is not None:
            mark = self.db.conn.execute("SELECT evicted_to FROM stream_history_marks WHERE stream=? AND grp=?",
                                        (stream, group_id)).fetchone()
            if since < max(self.history_from, floor, mark[0] if mark else 0):
                return None
        rows = self.db.conn.execute(
            "SELECT ts, event_id, id, event FROM stream_history WHERE stream=? AND grp=? AND ts>? AND ts>=? "
            "ORDER BY ts", (stream, group_id, -1 if since is None else since, floor)).fetchall()
        return [StreamChange(stream, group_id, id, "event", loads_stored(event), ts, event_id=event_id)
                for ts, event_id, id, event in rows]

    # -- expiry -------------------------------------------------------------------------------
    async def expire_due(self) -> int:
        rows = self.db.conn.execute(
            "DELETE FROM stream_items WHERE expires_at IS NOT NULL AND expires_at <= ? "
            "RETURNING stream, grp, id, data, created_at, version", (now_ms(),)).fetchall()
        changes = [StreamChange(stream, group_id, id, "delete", stored_item(loads_stored(data), id, created_at),
                                self.clock.tick(), version + 1)
                   for stream, group_id, id, data, created_at, version in rows]
        for change in changes:
            self._notify(change)
        for change in changes:  # after every delete is out: these may yield to the loop
            await self._notify_expired(change)
        return len(rows)

    def trim_history(self) -> int:
        """Drop sent events (and count-bound marks) older than their stream's window; how many."""
        now, dropped = now_ms(), 0
        streams = [r[0] for r in self.db.conn.execute(
            "SELECT DISTINCT stream FROM stream_history UNION SELECT DISTINCT stream FROM stream_history_marks")]
        for stream in streams:
            floor = now - self.history_policy(stream).window_s * 1000
            dropped += self.db.conn.execute("DELETE FROM stream_history WHERE stream=? AND ts<?",
                                            (stream, floor)).rowcount
            self.db.conn.execute("DELETE FROM stream_history_marks WHERE stream=? AND evicted_to<?", (stream, floor))
        return dropped

    async def _sweep(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                await self.expire_due()
                rounds += 1
                if rounds % TRIM_EVERY == 0:
                    self.trim_history()
            except sqlite3.Error:
                continue  # busy this time (another worker writing): the next round tries again

    def settle(self) -> None:
        self.db.commit_group()

    async def astart(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="motia-stream-ttl")

    async def aclose(self) -> None:
        await stop_task(self._sweeper)
        self._sweeper = None

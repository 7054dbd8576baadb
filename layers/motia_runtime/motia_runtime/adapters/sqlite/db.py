"""The SQLite database shared by the local adapters.

Calls run on the event loop's thread: each is a few tens of microseconds (WAL, no fsync per
commit), far less than a hop to a worker thread would cost, and it keeps every write atomic with
respect to the loop. ``synchronous=NORMAL`` in WAL mode survives a killed process; only a power
loss can take the last commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import MotiaError

SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    grp TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (grp, key)
);
CREATE TABLE IF NOT EXISTS stream_items (
    stream TEXT NOT NULL, grp TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (stream, grp, id)
);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, step TEXT NOT NULL, topic TEXT NOT NULL, data TEXT NOT NULL,
    trace_id TEXT NOT NULL, message_group_id TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'ready', created_at INTEGER NOT NULL,
    last_error TEXT, event_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_by_step ON queue (step, status, visible_at);
"""


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=5000")
            self.conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise MotiaError(f"cannot open the local database {path}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

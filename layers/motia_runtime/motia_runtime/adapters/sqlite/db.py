"""The SQLite database shared by the local adapters.

Calls run on the event loop's thread: each is a few tens of microseconds (WAL, no fsync per
commit), far less than a hop to a worker thread would cost, and it keeps every write atomic with
respect to the loop. ``synchronous=NORMAL`` in WAL mode survives a killed process; only a power
loss can take the last commits.

A commit does not fsync, but SQLite's automatic checkpoint does, on whichever connection's commit
crosses the WAL's threshold: here the loop's, which then stalled for 11-25 ms every ~1,000 pages
(bench/optimisations.md). A thread with its own connection checkpoints instead (PASSIVE: it
never blocks a writer), and the loop's connection keeps a far higher threshold only as a bound on
the WAL's size if writes never pause long enough for the thread to catch up.
"""

from __future__ import annotations

import sqlite3
import threading
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

CHECKPOINT_EVERY_S = 0.25
FALLBACK_AUTOCHECKPOINT_PAGES = 10_000  # ~40 MB of WAL (SQLite's default is 1,000)
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024  # what the WAL file is cut back to once it restarts


class Database:
    def __init__(self, path: Path | str, *, checkpoint_every_s: float = CHECKPOINT_EVERY_S) -> None:
        self.path = Path(path)
        in_memory = str(path) == ":memory:"
        if not in_memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=5000")
            self.conn.executescript(SCHEMA)
            if not in_memory:
                self.conn.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_AUTOCHECKPOINT_PAGES}")
                self.conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        except sqlite3.Error as exc:
            raise MotiaError(f"cannot open the local database {path}: {exc}") from exc
        self.checkpoints = 0  # completed background checkpoints (for tests and the curious)
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if not in_memory:
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, args=(checkpoint_every_s,),
                                                  name="motia-sqlite-checkpoint", daemon=True)
            self._checkpointer.start()

    def _checkpoint_loop(self, every_s: float) -> None:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            while not self._closing.wait(every_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error:
                    continue  # busy or locked this time: the next round tries again
        finally:
            conn.close()

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
        self._closing.set()
        if self._checkpointer is not None:
            self._checkpointer.join(10)
        self.conn.close()

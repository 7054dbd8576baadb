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

After a checkpoint that copied the whole WAL, SQLite starts the WAL over at the next commit, and
in ``synchronous=NORMAL`` that commit fsyncs the new WAL header: on the loop, that put 1-2 ms into
one ``set()`` in five while the thread checkpointed every 0.25 s (bench/optimisations.md). So the
thread makes that first commit itself, a one-row write to ``meta``, and checkpoints only when the
loop's connection has written since its last round (else it would keep copying its own write).

Most of a one-row write's cost is its commit (21 µs autocommitted, 6 µs in a transaction of 50:
bench/optimisations.md, S12), so the hot writes (stream items) commit in groups: the first write
of a loop turn opens a transaction and schedules its COMMIT for the loop's next turn, and every
write made in between joins it. A write is committed at most one turn after it returned (a loop
of writes yields every 2 ms, fair_share.py); the connection reads its own writes at once; and
what must not go out before the writes it reports (an API response, the bus's transactions, so a
queue ack) commits the group first (``commit_group``).
"""

from __future__ import annotations

import asyncio
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
-- A FIFO claim looks up the head of each ready message's group: without this, a scan of the
-- step's every message per ready message (6 s a claim at a backlog of 1,400; bench/optimisations.md).
CREATE INDEX IF NOT EXISTS queue_by_group ON queue (step, message_group_id, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
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
        self.checkpoints = 0  # background checkpoints that copied something (for tests and the curious)
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        self._changes_checkpointed = 0  # the loop's connection's total_changes at the last round
        self._group_loop: asyncio.AbstractEventLoop | None = None  # whose next turn commits the open group
        if not in_memory:
            self._checkpoint_conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._checkpoint_conn.execute("PRAGMA busy_timeout=5000")
            self._checkpoint_conn.execute("PRAGMA synchronous=NORMAL")
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, args=(checkpoint_every_s,),
                                                  name="motia-sqlite-checkpoint", daemon=True)
            self._checkpointer.start()

    def _checkpoint_loop(self, every_s: float) -> None:
        while not self._closing.wait(every_s):
            try:
                self.checkpoint()
            except sqlite3.Error:
                continue  # busy or locked this time: the next round tries again

    def checkpoint(self) -> bool:
        """One round of the background checkpoint (the thread runs it every ``checkpoint_every_s``):
        copy the WAL into the database file if the loop's connection wrote since the last round and,
        when all of it was copied, start the next WAL with a write of this connection's (see above).
        True when something was copied."""
        with self._checkpoint_lock:
            conn = self._checkpoint_conn
            if conn is None:  # in memory, or closed
                return False
            changes = self.conn.total_changes
            if changes == self._changes_checkpointed:
                return False
            busy, in_wal, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self._changes_checkpointed = changes
            if busy or in_wal <= 0:
                return False
            self.checkpoints += 1
            if copied == in_wal:
                conn.execute("INSERT INTO meta VALUES ('wal_restarts', 1) "
                             "ON CONFLICT (key) DO UPDATE SET value = value + 1")
            return True

    def join_group(self) -> None:
        """Before a write that may commit with the others of this loop turn (see above): opens
        the turn's group if none is open. Outside a running loop the write commits on its own."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.commit_group()
            return
        if self._group_loop is loop:
            return
        if self._group_loop is None and self.conn.in_transaction:
            return  # inside a transaction() of its own: the write is part of it
        self.commit_group()  # a group another loop opened and will never commit (a loop that ended)
        self.conn.execute("BEGIN IMMEDIATE")  # the write lock now: no snapshot to lose before the write
        self._group_loop = loop
        loop.call_soon(self.commit_group)

    def commit_group(self) -> None:
        """Commit the writes of this turn's group now, if one is open (a no-op otherwise)."""
        if self._group_loop is not None:
            self._group_loop = None
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error:
                # Left open, the transaction would take every later write and nothing would
                # commit it: the group is lost, loudly (the caller, or the loop's handler, logs it).
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.commit_group()  # its own transaction, after the writes it may report
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
        if self._checkpoint_conn is not None:
            with self._checkpoint_lock:
                self._checkpoint_conn.close()
                self._checkpoint_conn = None
        self.commit_group()
        self.conn.close()

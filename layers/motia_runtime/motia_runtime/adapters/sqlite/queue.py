"""The local durable queue. Several ``motia dev`` workers may share it (``--workers N``):

* a claim is one ``UPDATE ... RETURNING`` inside ``BEGIN IMMEDIATE``, so two workers never take
  the same message, and a FIFO group never has two messages in flight across workers;
* a claimed message records its worker (``owner``), and each worker holds an flock on
  ``<data dir>/workers/<owner>.lock`` while it lives. ``recover_inflight`` re-queues only what
  a dead worker left in flight: a worker starting next to live ones does not re-run theirs.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from ...jsonsafe import loads_stored
from ...ports.queue import MessageStatus, NewMessage, QueuedMessage, QueueStore
from .db import Database

try:
    import fcntl
except ImportError:  # Windows: no flock; every owner counts as gone, as with one worker
    fcntl = None  # type: ignore[assignment]  # the module's name stands for "no flock" (checked where used)

_COLUMNS = (
    "id, step, topic, data, trace_id, message_group_id, attempts, visible_at, status, created_at, last_error, event_id"
)


def _row(row: tuple[Any, ...]) -> QueuedMessage:
    (mid, step, topic, data, trace_id, group, attempts, visible_at, status, created_at, last_error, event_id) = row
    return QueuedMessage(mid, step, topic, loads_stored(data), trace_id, group, attempts, visible_at, status,
                         created_at, last_error, event_id)


class SQLiteQueueStore(QueueStore):
    def __init__(self, db: Database) -> None:
        self.db = db
        self.owner = uuid.uuid4().hex
        self._lock_fd: int | None = None  # taken at the first claim: a store that never claims leaves no file
        in_memory = str(db.path) == ":memory:"
        self._lock_dir: Path | None = None if in_memory else db.path.parent / "workers"
        _add_owner_column(db)

    def enqueue(self, messages: list[NewMessage], now: int) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO queue (step, topic, data, trace_id, message_group_id, visible_at, created_at, event_id) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(m.step, m.topic, json.dumps(m.data), m.trace_id, m.message_group_id, m.visible_at, now, m.event_id)
                 for m in messages],
            )

    def claim(self, step: str, now: int, limit: int, fifo: bool) -> list[QueuedMessage]:
        # A read first, so idle workers do not queue up for the write lock.
        if self.db.conn.execute("SELECT 1 FROM queue WHERE step=? AND status='ready' AND visible_at<=? LIMIT 1",
                                (step, now)).fetchone() is None:
            return []
        if fifo:
            # The head of each message group, if it is ready and nothing of its group is in flight.
            pick = ("SELECT id FROM queue q WHERE step=? AND status='ready' AND visible_at<=? AND id = ("
                    "  SELECT MIN(id) FROM queue h WHERE h.step=q.step AND h.status!='dead'"
                    "  AND h.message_group_id IS q.message_group_id) ORDER BY id LIMIT ?")
        else:
            pick = "SELECT id FROM queue WHERE step=? AND status='ready' AND visible_at<=? ORDER BY id LIMIT ?"
        self._hold_owner_lock()
        with self.db.transaction() as tx:
            rows = tx.execute(
                f"UPDATE queue SET status='inflight', attempts=attempts+1, owner=? WHERE id IN ({pick}) "
                f"RETURNING {_COLUMNS}", (self.owner, step, now, limit),
            ).fetchall()
        return sorted((_row(r) for r in rows), key=lambda m: m.id)

    def ack(self, message_id: int) -> None:
        self.db.conn.execute("DELETE FROM queue WHERE id=?", (message_id,))

    def ack_many(self, message_ids: list[int]) -> None:
        # One commit for the acks of a turn of the event loop (the bus gathers them): a commit is
        # most of an ack's cost.
        with self.db.transaction() as tx:
            for start in range(0, len(message_ids), 500):
                chunk = message_ids[start:start + 500]
                tx.execute(f"DELETE FROM queue WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    def retry_later(self, message_id: int, error: str, visible_at: int) -> None:
        self.db.conn.execute(
            "UPDATE queue SET status='ready', last_error=?, visible_at=? WHERE id=?", (error, visible_at, message_id)
        )

    def dead_letter(self, message_id: int, error: str) -> None:
        self.db.conn.execute("UPDATE queue SET status='dead', last_error=? WHERE id=?", (error, message_id))

    def recover_inflight(self) -> int:
        """Re-queue what dead workers (and this store: it is called at start) left in flight."""
        count = 0
        with self.db.transaction() as tx:
            owners = [r[0] for r in tx.execute("SELECT DISTINCT owner FROM queue WHERE status='inflight'")]
            for owner in owners:
                if owner == self.owner or not self._owner_alive(owner):
                    count += tx.execute("UPDATE queue SET status='ready', owner=NULL WHERE status='inflight' "
                                        "AND owner IS ?", (owner,)).rowcount
        if self._lock_dir is not None and self._lock_dir.is_dir():
            for path in self._lock_dir.glob("*.lock"):  # sweep the files of workers that are gone
                self._owner_alive(path.stem)
        return count

    def next_visible_at(self, step: str, fifo: bool = False) -> int | None:
        sql = "SELECT MIN(visible_at) FROM queue q WHERE step=? AND status='ready'"
        if fifo:  # the heads of message groups only, as ``claim`` picks them
            sql += (" AND id = (SELECT MIN(id) FROM queue h WHERE h.step=q.step AND h.status!='dead'"
                    " AND h.message_group_id IS q.message_group_id)")
        value: int | None = self.db.conn.execute(sql, (step,)).fetchone()[0]
        return value

    def list(
        self, status: MessageStatus | None = None, step: str | None = None, limit: int = 200,
        after: int | None = None,
    ) -> list[QueuedMessage]:
        clauses: list[str] = []
        args: list[Any] = []
        if status is not None:
            clauses.append("status=?")
            args.append(status)
        if step is not None:
            clauses.append("step=?")
            args.append(step)
        if after is not None:
            clauses.append("id>?")
            args.append(after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.conn.execute(f"SELECT {_COLUMNS} FROM queue {where} ORDER BY id LIMIT ?", (*args, limit))
        return [_row(r) for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        # queue_by_step (step, status, visible_at) covers it: an index scan, not the table's rows.
        for step, status, n in self.db.conn.execute("SELECT step, status, COUNT(*) FROM queue GROUP BY step, status"):
            out.setdefault(step, {})[status] = n
        return out

    def redrive(self, message_id: int, now: int) -> bool:
        with self.db.transaction() as tx:
            moved = tx.execute(
                "INSERT INTO queue (step, topic, data, trace_id, message_group_id, visible_at, created_at, last_error, "
                "event_id) SELECT step, topic, data, trace_id, message_group_id, ?, created_at, last_error, event_id "
                "FROM queue WHERE id=? AND status='dead'", (now, message_id),
            ).rowcount
            if moved:
                tx.execute("DELETE FROM queue WHERE id=?", (message_id,))
        return moved == 1

    def drop(self, message_id: int) -> bool:
        return self.db.conn.execute("DELETE FROM queue WHERE id=? AND status='dead'", (message_id,)).rowcount == 1

    # -- worker liveness ---------------------------------------------------------------------
    def _hold_owner_lock(self) -> None:
        if self._lock_fd is not None or self._lock_dir is None or fcntl is None:
            return
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        # Locked under a temporary name, then renamed: a "<owner>.lock" file is never seen unlocked
        # while its worker lives, so another worker can take an unlocked one for a dead worker's.
        temp = self._lock_dir / f".{self.owner}.tmp"
        fd = os.open(temp, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(temp, self._lock_dir / f"{self.owner}.lock")
        self._lock_fd = fd

    def _owner_alive(self, owner: str | None) -> bool:
        """Whether ``owner``'s worker still holds its lock; a dead worker's file is removed."""
        if owner is None or self._lock_dir is None or fcntl is None:
            return False
        path = self._lock_dir / f"{owner}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return False
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._lock_fd is not None and self._lock_dir is not None:
            with contextlib.suppress(FileNotFoundError):
                (self._lock_dir / f"{self.owner}.lock").unlink()
            os.close(self._lock_fd)
            self._lock_fd = None


def _add_owner_column(db: Database) -> None:
    # Databases made before several workers could share them have no ``owner`` column.
    with db.transaction() as tx:
        if "owner" not in {row[1] for row in tx.execute("PRAGMA table_info(queue)")}:
            tx.execute("ALTER TABLE queue ADD COLUMN owner TEXT")

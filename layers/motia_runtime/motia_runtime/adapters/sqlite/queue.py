from __future__ import annotations

import json
from typing import Any

from ...ports.queue import MessageStatus, NewMessage, QueuedMessage, QueueStore
from .db import Database

_COLUMNS = "id, step, topic, data, trace_id, message_group_id, attempts, visible_at, status, created_at, last_error, event_id"


def _row(row: tuple[Any, ...]) -> QueuedMessage:
    (mid, step, topic, data, trace_id, group, attempts, visible_at, status, created_at, last_error, event_id) = row
    return QueuedMessage(mid, step, topic, json.loads(data), trace_id, group, attempts, visible_at, status, created_at,
                         last_error, event_id)


class SQLiteQueueStore(QueueStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(self, messages: list[NewMessage], now: int) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO queue (step, topic, data, trace_id, message_group_id, visible_at, created_at, event_id) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(m.step, m.topic, json.dumps(m.data), m.trace_id, m.message_group_id, m.visible_at, now, m.event_id)
                 for m in messages],
            )

    def claim(self, step: str, now: int, limit: int, fifo: bool) -> list[QueuedMessage]:
        conn = self.db.conn
        if fifo:
            # The head of each message group, if it is ready and nothing of its group is in flight.
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM queue q WHERE step=? AND status='ready' AND visible_at<=? AND id = ("
                "  SELECT MIN(id) FROM queue h WHERE h.step=q.step AND h.status!='dead'"
                "  AND h.message_group_id IS q.message_group_id) ORDER BY id LIMIT ?",
                (step, now, limit),
            ).fetchall()
        else:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM queue WHERE step=? AND status='ready' AND visible_at<=? ORDER BY id LIMIT ?",
                (step, now, limit),
            ).fetchall()
        if not rows:
            return []
        messages = [_row(r) for r in rows]
        with self.db.transaction() as tx:
            tx.executemany("UPDATE queue SET status='inflight', attempts=attempts+1 WHERE id=?", [(m.id,) for m in messages])
        for m in messages:
            m.status = "inflight"
            m.attempts += 1
        return messages

    def ack(self, message_id: int) -> None:
        self.db.conn.execute("DELETE FROM queue WHERE id=?", (message_id,))

    def retry_later(self, message_id: int, error: str, visible_at: int) -> None:
        self.db.conn.execute(
            "UPDATE queue SET status='ready', last_error=?, visible_at=? WHERE id=?", (error, visible_at, message_id)
        )

    def dead_letter(self, message_id: int, error: str) -> None:
        self.db.conn.execute("UPDATE queue SET status='dead', last_error=? WHERE id=?", (error, message_id))

    def recover_inflight(self) -> int:
        return self.db.conn.execute("UPDATE queue SET status='ready' WHERE status='inflight'").rowcount

    def next_visible_at(self, step: str) -> int | None:
        (value,) = self.db.conn.execute(
            "SELECT MIN(visible_at) FROM queue WHERE step=? AND status='ready'", (step,)
        ).fetchone()
        return value  # type: ignore[no-any-return]

    def list(self, status: MessageStatus | None = None, step: str | None = None, limit: int = 200) -> list[QueuedMessage]:
        clauses, args = [], []
        if status is not None:
            clauses.append("status=?")
            args.append(status)
        if step is not None:
            clauses.append("step=?")
            args.append(step)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.conn.execute(f"SELECT {_COLUMNS} FROM queue {where} ORDER BY id LIMIT ?", (*args, limit))
        return [_row(r) for r in rows]

    def redrive(self, message_id: int, now: int) -> bool:
        cur = self.db.conn.execute(
            "UPDATE queue SET status='ready', attempts=0, visible_at=? WHERE id=? AND status='dead'", (now, message_id)
        )
        return cur.rowcount == 1

    def drop(self, message_id: int) -> bool:
        return self.db.conn.execute("DELETE FROM queue WHERE id=? AND status='dead'", (message_id,)).rowcount == 1

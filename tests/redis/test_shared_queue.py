"""The SQLite event queue shared by several worker processes (``motia dev --workers N``).

Real processes claim from one database file at once: no message is claimed twice, a FIFO group
never has two messages in flight across processes, and a worker starting next to live ones
re-queues only what dead workers left in flight.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from motia_runtime.adapters.sqlite import Database, SQLiteQueueStore
from motia_runtime.ports.queue import NewMessage

# A worker process: claims until the queue stays empty, "runs" each message (recording it in a
# `done` table, checking that no other message of its FIFO group is in flight), then acks it.
WORKER = textwrap.dedent("""
    import json, sys, time
    from motia_runtime.adapters.sqlite import Database, SQLiteQueueStore
    db = Database(sys.argv[1])
    store, fifo, idle, violations = SQLiteQueueStore(db), sys.argv[2] == "fifo", 0, 0
    db.conn.execute("CREATE TABLE IF NOT EXISTS done (seq INTEGER PRIMARY KEY AUTOINCREMENT, id, grp, n, pid)")
    while idle < 20:
        claimed = store.claim("S", int(time.time() * 1000), 3, fifo)
        if not claimed:
            idle += 1
            time.sleep(0.005)
            continue
        idle = 0
        for m in claimed:
            if fifo:
                (in_flight,) = db.conn.execute(
                    "SELECT COUNT(*) FROM queue WHERE status='inflight' AND message_group_id=?",
                    (m.message_group_id,)).fetchone()
                violations += in_flight != 1
            time.sleep(0.001)
            with db.transaction() as tx:
                tx.execute("INSERT INTO done (id, grp, n, pid) VALUES (?,?,?,?)",
                           (m.id, m.message_group_id, m.data["n"], __import__("os").getpid()))
            store.ack(m.id)
    print(json.dumps({"violations": violations}))
""")


def _fill(path: Path, count: int, groups: int | None = None) -> None:
    db = Database(path)
    SQLiteQueueStore(db).enqueue(
        [NewMessage("S", "t", {"n": n}, "T", None if groups is None else f"g{n % groups}", 0, f"e{n}")
         for n in range(count)], now=0)
    db.close()


def _run_workers(path: Path, count: int, mode: str) -> list[dict[str, int]]:
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), mode], stdout=subprocess.PIPE, text=True)
             for _ in range(count)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    return [json.loads(out) for out in outputs]


def _done(path: Path) -> list[tuple[int, str | None, int, int]]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT id, grp, n, pid FROM done ORDER BY seq").fetchall()
    conn.close()
    return rows


def test_four_processes_never_claim_the_same_message(tmp_path: Path) -> None:
    path = tmp_path / "motia.db"
    _fill(path, 300)
    _run_workers(path, 4, "standard")
    done = _done(path)
    assert sorted(n for _, _, n, _ in done) == list(range(300))  # each message ran exactly once
    assert len({pid for *_, pid in done}) > 1  # and the processes really shared the work


def test_fifo_groups_run_in_order_one_at_a_time_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "motia.db"
    _fill(path, 120, groups=4)
    results = _run_workers(path, 4, "fifo")
    assert [r["violations"] for r in results] == [0, 0, 0, 0]
    done = _done(path)
    assert sorted(n for _, _, n, _ in done) == list(range(120))
    for group in range(4):
        assert [n for _, g, n, _ in done if g == f"g{group}"] == list(range(group, 120, 4))


HOLDER = textwrap.dedent("""
    import sys, time
    from motia_runtime.adapters.sqlite import Database, SQLiteQueueStore
    store = SQLiteQueueStore(Database(sys.argv[1]))
    print(len(store.claim("S", int(time.time() * 1000), 2, False)), flush=True)
    time.sleep(60)  # a worker busy with its two messages
""")


def test_a_starting_worker_requeues_only_what_dead_workers_left_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "motia.db"
    _fill(path, 3)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "2"
        db = Database(path)
        starting = SQLiteQueueStore(db)
        assert starting.recover_inflight() == 0  # the holder is alive: its messages stay its own
        assert [m.data["n"] for m in starting.claim("S", int(time.time() * 1000), 10, False)] == [2]
        assert len(list((tmp_path / "workers").glob("*.lock"))) == 2
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert SQLiteQueueStore(db).recover_inflight() == 2  # dead: its two come back
        assert len(list((tmp_path / "workers").glob("*.lock"))) == 1  # its lock file is swept
        starting.close()
        assert list((tmp_path / "workers").glob("*.lock")) == []
        db.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)

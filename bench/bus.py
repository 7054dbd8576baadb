"""The event bus and stream writes inside one process, each beside the bare SQLite work it is built on
(issue 22). Every figure comes with its floor measured in the same process, one after the other:

- ``queue_floor``: the bare queue round trip on plain ``sqlite3`` (the same pragmas and table as the
  local queue): per event, one INSERT, one claim (``UPDATE ... RETURNING``), one DELETE, each its own
  commit; events/s.
- ``events_trivial``: ``LocalEventBus.publish`` of N events (one call each, as N ``emit``s) to a step
  whose handler returns at once, on the local host's runtime (trace recorder on, as ``motia dev``),
  until the queue is empty; events/s, CPU µs per event, and the ratio to ``queue_floor``.
- ``events_io``: the same with a handler awaiting 200 ms, default settings: events/s and the most
  handlers that ran at once.
- ``write_floor``: a plain SQLite upsert of the item (``json.dumps`` and one INSERT ... ON CONFLICT
  into a table like ``stream_items``); writes/s.
- ``sets``: ``ctx.streams.items.set()`` as a step calls it in ``motia dev`` (validation, the trace
  recorder), 0 subscribers; set()/s, CPU µs each, and the ratio to ``write_floor``.
- ``set_loop_stall``: 2,000 set()s in one loop with 100 subscribed connections whose frames are
  written to real loopback sockets, while a ticker task measures how late the loop runs it (the
  longest a frame from another client would have waited); the server-level figure is in
  bus_scenarios.py.

Usage: python bench/bus.py [--n 20000] [--repeats 3] [--only a,b] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parent / "busapp"
ITEM = {"n": 1, "label": "progress"}


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def queue_floor(n: int) -> dict[str, float]:
    """Insert → claim → ack, one event at a time, each statement its own commit."""
    with tempfile.TemporaryDirectory(prefix="motia-bus-floor-") as tmp:
        conn = _connect(Path(tmp) / "q.db")
        conn.execute("CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, step TEXT NOT NULL, topic TEXT "
                     "NOT NULL, data TEXT NOT NULL, trace_id TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
                     "visible_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'ready', created_at INTEGER NOT NULL)")
        conn.execute("CREATE INDEX q_by_step ON queue (step, status, visible_at)")
        data = json.dumps({"i": 0})
        t, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            now = int(time.time() * 1000)
            conn.execute("INSERT INTO queue (step, topic, data, trace_id, visible_at, created_at) "
                         "VALUES ('Noop','bench.noop',?,'T',?,?)", (data, now, now))
            (mid, body) = conn.execute(
                "UPDATE queue SET status='inflight', attempts=attempts+1 WHERE id IN (SELECT id FROM queue WHERE "
                "step='Noop' AND status='ready' AND visible_at<=? ORDER BY id LIMIT 1) RETURNING id, data",
                (now,)).fetchone()
            json.loads(body)
            conn.execute("DELETE FROM queue WHERE id=?", (mid,))
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        conn.close()
    return {"per_s": round(n / wall), "cpu_us": round(cpu / n * 1e6, 1)}


def write_floor(n: int) -> dict[str, float]:
    """The item written as plainly as SQLite allows: serialised and upserted, one commit each."""
    with tempfile.TemporaryDirectory(prefix="motia-bus-floor-") as tmp:
        conn = _connect(Path(tmp) / "s.db")
        conn.execute("CREATE TABLE items (stream TEXT NOT NULL, grp TEXT NOT NULL, id TEXT NOT NULL, data TEXT "
                     "NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (stream, grp, id))")
        t, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            conn.execute("INSERT INTO items VALUES ('items',?,'item',?,?) ON CONFLICT (stream, grp, id) DO UPDATE "
                         "SET data=excluded.data, updated_at=excluded.updated_at",
                         (f"g{i % 100}", json.dumps({"n": i, "label": "progress"}), i))
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        conn.close()
    return {"per_s": round(n / wall), "cpu_us": round(cpu / n * 1e6, 1)}


class _Host:
    """The local host's runtime on a fresh data folder, its bus started, as ``motia dev`` builds it."""

    def __init__(self) -> None:
        from motia_runtime.hosts.local.app import DevSettings, LocalHost

        self.tmp = tempfile.TemporaryDirectory(prefix="motia-bus-")
        self.host = LocalHost.open(DevSettings(APP, Path(self.tmp.name)))
        self.host.feed.bind(asyncio.get_running_loop())
        self.runtime = self.host.runtime
        self.bus = self.host.bus
        self.bus.start(self.runtime)

    def pending(self) -> int:
        (count,) = self.host.db.conn.execute("SELECT COUNT(*) FROM queue WHERE status!='dead'").fetchone()
        return int(count)

    async def close(self) -> None:
        await self.runtime.aclose()
        self.host.db.close()
        self.tmp.cleanup()


async def _drain(bus_host: _Host, topic: str, n: int, data: Callable[[int], Any],
                 watch: str | None = None) -> dict[str, Any]:
    from motia_runtime.ports.events import Event

    peak = 0
    worker = bus_host.bus.workers[watch] if watch else None
    t, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        await bus_host.bus.publish([Event(topic, data(i), f"T{i}")])
    while bus_host.pending():
        if worker is not None:
            peak = max(peak, len(worker.running))
        await asyncio.sleep(0.002)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    return {"n": n, "per_s": round(n / wall), "cpu_us": round(cpu / n * 1e6, 1), "seconds": round(wall, 2),
            **({"peak_running": peak} if worker is not None else {})}


async def events_trivial(n: int) -> dict[str, Any]:
    bus_host = _Host()
    try:
        await _drain(bus_host, "bench.noop", min(n, 500), lambda i: {"i": i})  # warm-up
        return await _drain(bus_host, "bench.noop", n, lambda i: {"i": i})
    finally:
        await bus_host.close()


async def events_io(n: int) -> dict[str, Any]:
    bus_host = _Host()
    try:
        return await _drain(bus_host, "bench.io", n, lambda i: {"i": i}, watch="IoBound")
    finally:
        await bus_host.close()


async def sets(n: int) -> dict[str, Any]:
    bus_host = _Host()
    try:
        runtime = bus_host.runtime
        ctx = runtime.context(runtime.project.steps["SetLoop"], "T-sets")
        # Inside a recorded run, as a step's set() is in motia dev (each one is a trace event).
        runtime.observer.step_started("T-sets", "SetLoop", {"type": "api"})
        items = ctx.streams.items
        for i in range(500):
            await items.set(f"g{i % 100}", "item", {"n": i, "label": "progress"})
        t, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            await items.set(f"g{i % 100}", "item", {"n": i, "label": "progress"})
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        return {"per_s": round(n / wall), "cpu_us": round(cpu / n * 1e6, 1)}
    finally:
        await bus_host.close()


async def set_loop_stall(loops: int = 2000, subscribers: int = 100) -> dict[str, Any]:
    """The loop's longest stall while one step runs ``loops`` set()s to a group ``subscribers`` real
    loopback sockets watch (their frames written by the hub's fast path; a thread drains them)."""
    from motia_runtime.hosts.local.hub import Connection
    from motia_runtime.protocol import Subscription

    pairs = [socket.socketpair() for _ in range(subscribers)]
    reader_pid = os.fork()  # the subscribers read in another process, as real clients would
    if reader_pid == 0:
        import selectors

        sel = selectors.DefaultSelector()
        for writer, reader in pairs:
            writer.close()
            sel.register(reader, selectors.EVENT_READ)
        open_ = len(pairs)
        while open_:
            for key, _ in sel.select():
                if not key.fileobj.recv(1 << 20):  # type: ignore[union-attr]
                    sel.unregister(key.fileobj)
                    open_ -= 1
        os._exit(0)
    for _, reader in pairs:
        reader.close()
    bus_host = _Host()
    try:
        loop = asyncio.get_running_loop()
        for writer, _ in pairs:
            writer.setblocking(False)

            def write(frame: bytes, w: socket.socket = writer) -> bool:
                try:
                    return w.send(frame) == len(frame)
                except BlockingIOError:
                    return False

            async def send_text(text: str, w: socket.socket = writer) -> None:
                await loop.sock_sendall(w, text.encode())

            async def close(_code: int, _reason: str) -> None:
                return None

            connection = Connection(send_text, close, write_frame=write)
            bus_host.host.hub.attach(connection)
            bus_host.host.hub.subscribe(connection, Subscription("items", "loop", None, "s"))
        runtime = bus_host.runtime
        ctx = runtime.context(runtime.project.steps["SetLoop"], "T-loop")
        lateness: list[float] = []
        cpu_gaps: list[float] = []  # the loop's own CPU between two ticks: what OS preemption leaves out
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                t, c = time.perf_counter(), time.thread_time()
                await asyncio.sleep(0.001)
                lateness.append((time.perf_counter() - t - 0.001) * 1000)
                cpu_gaps.append((time.thread_time() - c) * 1000)

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(1.0)  # the ticker alone: what the machine does to it without the loop
        idle, lateness[:], cpu_gaps[:] = sorted(lateness), [], []
        t = time.perf_counter()
        for i in range(loops):
            await ctx.streams.items.set("loop", "item", {"n": i, "label": "progress"})
        wall = time.perf_counter() - t
        busy = sorted(lateness)
        done.set()
        await tick

        def pct(values: list[float], q: float) -> float:
            return round(values[min(len(values) - 1, int(q / 100 * len(values)))], 2)

        return {"sets": loops, "subscribers": subscribers, "loop_s": round(wall, 3),
                "max_loop_stall_ms": round(busy[-1], 2), "p99_loop_stall_ms": pct(busy, 99),
                "stalls_over_20ms": sum(1 for x in busy if x > 20),
                "max_loop_cpu_between_ticks_ms": round(max(cpu_gaps), 2),
                "idle_max_ms": round(idle[-1], 2), "idle_p99_ms": pct(idle, 99)}
    finally:
        for writer, _ in pairs:
            writer.close()
        os.waitpid(reader_pid, 0)
        await bus_host.close()


def run(n: int, repeats: int, only: set[str] | None) -> dict[str, Any]:
    os.environ.setdefault("LOG_LEVEL", "warn")
    out: dict[str, Any] = {}

    def want(name: str) -> bool:
        return only is None or name in only

    def best(rounds: list[dict[str, Any]]) -> dict[str, Any]:
        return max(rounds, key=lambda r: r["per_s"])

    if want("events"):
        floor = best([queue_floor(n) for _ in range(repeats)])
        ours = best([asyncio.run(events_trivial(n)) for _ in range(repeats)])
        out["events_trivial"] = {"ours": ours, "limit": floor, "ratio": round(ours["per_s"] / floor["per_s"], 3)}
    if want("io"):
        out["events_io"] = asyncio.run(events_io(max(n // 10, 500)))
    if want("sets"):
        floor = best([write_floor(n) for _ in range(repeats)])
        ours = best([asyncio.run(sets(n)) for _ in range(repeats)])
        out["sets"] = {"ours": ours, "limit": floor, "ratio": round(ours["per_s"] / floor["per_s"], 3)}
    if want("stall"):
        out["set_loop_stall"] = asyncio.run(set_loop_stall())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="comma-separated: events, io, sets, stall")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.n, args.repeats, set(args.only.split(",")) if args.only else None)
    text = json.dumps(results, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a stream ``set()`` spends its CPU (issue 22's set()/s figure), layer by layer, in one process.

    python bench/set_profile.py [--n 1000] [--rounds 15]

On the local host's runtime as ``bench/bus.py``'s ``sets`` builds it (the bench app, a fresh data
folder, the trace recorder on, 0 subscribers), each layer is timed alone over the same 100 items:

- ``traced``: ``ctx.streams.items.set()`` as a step calls it in ``motia dev`` (what ``sets`` measures);
- ``untraced``: the runtime's own stream, without the trace recorder's wrapper;
- ``store``: the SQLite store's write of an item already validated and encoded;
- ``floor``: ``bench/bus.py``'s plain write of the item, on the same connection, committed alone;
- ``floor_in_groups``: the same write committed in groups of 64, as the store's writes are (one
  group per loop turn, ``Database.join_group``): what the grouping gives the bare statement.

Each figure is the main thread's CPU per call (``time.thread_time``), the best of ``--rounds``
slices of ``--n`` calls: on a machine shared with other work the best slice is the one least
disturbed, so compare layers of one run, not runs of different minutes. ``--long`` also reports
the average over one run of 20,000 ``traced`` calls (process CPU, checkpoint thread included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bus  # the bench's own module, found through the path above

FLOOR_SQL = ("INSERT INTO floor_items VALUES ('items',?,'item',?,?) ON CONFLICT (stream, grp, id) DO UPDATE "
             "SET data=excluded.data, updated_at=excluded.updated_at")


async def _best(call: Callable[[int], Awaitable[None]], n: int, rounds: int) -> float:
    for i in range(300):
        await call(i)
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time()
        for i in range(n):
            await call(i)
        best = min(best, time.thread_time() - start)
    return round(best / n * 1e6, 1)


async def profile(n: int, rounds: int, long: bool) -> dict[str, Any]:
    from motia_runtime.streams import Stream

    host = bus._Host()
    try:
        runtime = host.runtime
        ctx = runtime.context(runtime.project.steps["SetLoop"], "T-sets")
        runtime.observer.step_started("T-sets", "SetLoop", {"type": "api"})
        traced = ctx.streams.items
        plain: Stream = runtime.streams["items"]
        store = plain.store
        conn = host.host.db.conn
        conn.execute("CREATE TABLE floor_items (stream TEXT NOT NULL, grp TEXT NOT NULL, id TEXT NOT NULL, "
                     "data TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (stream, grp, id))")

        async def set_traced(i: int) -> None:
            await traced.set(f"g{i % 100}", "item", {"n": i, "label": "progress"})

        async def set_untraced(i: int) -> None:
            await plain.set(f"g{i % 100}", "item", {"n": i, "label": "progress"})

        async def store_write(i: int) -> None:
            await store.set("items", f"g{i % 100}", "item", {"n": i, "label": "progress"})

        async def floor(i: int) -> None:
            conn.execute(FLOOR_SQL, (f"g{i % 100}", json.dumps({"n": i, "label": "progress"}), i))

        async def floor_in_groups(i: int) -> None:
            host.host.db.join_group()
            conn.execute(FLOOR_SQL, (f"g{i % 100}", json.dumps({"n": i, "label": "progress"}), i))
            if i % 64 == 63:  # about what one loop turn of set()s commits together
                host.host.db.commit_group()

        out: dict[str, Any] = {}
        for name, call in (("traced", set_traced), ("untraced", set_untraced), ("store", store_write),
                           ("floor", floor), ("floor_in_groups", floor_in_groups)):
            host.host.db.commit_group()  # the floor commits each write: none of it joins a group
            out[name] = await _best(call, n, rounds)
        out["cpu_us_best_of"] = f"{rounds} x {n}"
        if long:
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(20_000):
                await set_traced(i)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            out["traced_20000"] = {"per_s": round(20_000 / wall), "cpu_us": round(cpu / 20_000 * 1e6, 1)}
        return out
    finally:
        await host.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--long", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "warn")
    print(json.dumps(asyncio.run(profile(args.n, args.rounds, args.long))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

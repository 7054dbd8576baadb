"""The pet shelter under a steady rate of new pets: does the event bus keep up (issue 22)?

    python bench/shelter.py --url http://127.0.0.1:3111 --db <data dir>/motia.db --rate 50 --seconds 60

``POST /pets`` at ``--rate`` per second for ``--seconds`` (the repository's ``functions/pets`` as
``make dev`` serves it, with the shelter's default stage pauses: 1 s between stages, 300 ms between
profile fields), then ``--drain-seconds`` without load. Every ``--every`` seconds the server's queue
is read from its SQLite file (a reader beside the server: WAL lets it read without blocking it):

- ``backlog``: messages visible and waiting for a handler (SQS's ApproximateNumberOfMessagesVisible);
- ``in_flight``: messages a handler is running (most of them sleeping through a stage pause);
- ``delayed``: messages waiting for a retry's backoff; ``dead``: dead letters.

The report gives the series, the largest backlog during the load, and how long after the load the
backlog took to reach 0 (and everything else: in flight included).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def sample(db: sqlite3.Connection) -> dict[str, int]:
    now = int(time.time() * 1000)
    counts = {"backlog": 0, "in_flight": 0, "delayed": 0, "dead": 0}
    for status, visible, n in db.execute(
            "SELECT status, visible_at <= ?, COUNT(*) FROM queue GROUP BY status, visible_at <= ?", (now, now)):
        if status == "ready":
            counts["backlog" if visible else "delayed"] += n
        elif status == "inflight":
            counts["in_flight"] += n
        elif status == "dead":
            counts["dead"] += n
    return counts


async def run(url: str, db_path: Path, rate: float, seconds: float, drain_s: float, every: float) -> dict[str, Any]:
    series: list[dict[str, Any]] = []
    errors: dict[str, int] = {}
    posted = 0
    latencies: list[float] = []
    db: sqlite3.Connection | None = None
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.monotonic()
        load_end = start + seconds
        inflight: set[asyncio.Task[None]] = set()

        async def post(n: int) -> None:
            nonlocal posted
            t = time.perf_counter()
            try:
                r = await client.post("/pets", json={"name": f"Pet {n}", "species": "dog" if n % 2 else "cat",
                                                     "ageMonths": n % 120})
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            latencies.append((time.perf_counter() - t) * 1000)
            if r.status_code != 201:
                errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            else:
                posted += 1

        async def sampler() -> None:
            nonlocal db
            while True:
                if db is None and db_path.exists():
                    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
                if db is not None:
                    with contextlib.suppress(sqlite3.Error):  # busy, or being created: next time
                        series.append({"t": round(time.monotonic() - start, 1), **sample(db)})
                await asyncio.sleep(every)

        sampling = asyncio.create_task(sampler())
        total = int(seconds * rate)
        for n in range(total):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(post(n))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        if inflight:
            await asyncio.gather(*inflight)
        load_end = time.monotonic()
        deadline = load_end + drain_s
        while time.monotonic() < deadline:
            await asyncio.sleep(every)
            last = series[-1] if series else None
            if last and last["t"] > load_end - start and not (last["backlog"] or last["in_flight"] or last["delayed"]):
                break
        sampling.cancel()
    if db is not None:
        db.close()
    load_s = round(load_end - start, 1)
    during = [s for s in series if s["t"] <= load_s]
    after = [s for s in series if s["t"] > load_s]

    def first_zero(keys: tuple[str, ...]) -> float | None:
        for s in after:
            if not any(s[k] for k in keys):
                return round(s["t"] - load_s, 1)
        return None

    latencies.sort()
    return {
        "rate": rate, "seconds": seconds, "posted": posted, "errors": errors, "load_s": load_s,
        "post_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else None,
        "post_p99_ms": round(latencies[int(len(latencies) * 0.99)], 1) if latencies else None,
        "max_backlog": max((s["backlog"] for s in series), default=None),
        "max_backlog_during_load": max((s["backlog"] for s in during), default=None),
        "max_in_flight": max((s["in_flight"] for s in series), default=None),
        "backlog_zero_after_s": first_zero(("backlog",)),
        "all_done_after_s": first_zero(("backlog", "in_flight", "delayed")),
        "dead": series[-1]["dead"] if series else None,
        "series": series,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", type=Path, required=True, help="the server's motia.db")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--drain-seconds", type=float, default=60)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.db, args.rate, args.seconds, args.drain_seconds, args.every))
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    print(json.dumps({k: v for k, v in result.items() if k != "series"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

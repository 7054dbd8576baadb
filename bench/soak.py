"""The soak: ``POST /pets`` at a steady rate while subscribers watch the pets' stream groups, then idle;
samples the serving process's resident memory all along and reports its slope.

    python bench/soak.py --url http://127.0.0.1:3111 --pid 1234 --seconds 300 --rate 50 --subscribers 200

Each subscriber is one WebSocket connection that follows one pet at a time: when a ``POST`` answers,
the next subscriber (round robin) leaves the group it watched and joins the new pet's
``petCreation`` group, so with 200 subscribers at 50 pets/s each follows a pet for 4 s (the pet's
journey, with the shelter's default stage pauses). After the load, the subscribers stay connected
and quiet for ``--idle-seconds``; the RSS then says whether what the load left behind goes away.

The slope is a least-squares line through the samples taken after ``--warmup-seconds`` until the
load stops, in MB (10^6 bytes) per minute. The last ``GET /pets`` page timings show what a client
pays once the store holds every pet the soak created.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def slope_mb_per_min(samples: list[tuple[float, int]]) -> float | None:
    """Least-squares slope of (seconds, KiB) samples, in MB per minute."""
    if len(samples) < 3:
        return None
    xs = [t / 60 for t, _ in samples]
    ys = [kib * 1024 / 1e6 for _, kib in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Subscriber:
    def __init__(self, url: str, index: int) -> None:
        self.url = url
        self.index = index
        self.frames = 0
        self.watching: str | None = None
        self.ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await connect(self.url, max_size=None, open_timeout=30)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for _ in self.ws:
                self.frames += 1

    async def follow(self, group: str) -> None:
        if self.watching is not None:
            await self.ws.send(json.dumps({"type": "leave", "data": {
                "streamName": "petCreation", "groupId": self.watching, "subscriptionId": f"s{self.index}"}}))
        self.watching = group
        await self.ws.send(json.dumps({"type": "join", "data": {
            "streamName": "petCreation", "groupId": group, "subscriptionId": f"s{self.index}"}}))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


async def wait_up(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/__motia/health")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer within {timeout_s} s")
            await asyncio.sleep(0.2)


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    await wait_up(args.url)
    ws_url = args.url.replace("http", "ws", 1) + "/"
    samples: list[tuple[float, int]] = []
    t0 = time.monotonic()
    stop_sampling = asyncio.Event()

    async def sample() -> None:
        while not stop_sampling.is_set():
            samples.append((round(time.monotonic() - t0, 2), rss_kib(args.pid)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_sampling.wait(), args.sample_every)

    sampler = asyncio.create_task(sample())
    subscribers = [Subscriber(ws_url, i) for i in range(args.subscribers)]
    for start in range(0, len(subscribers), 50):  # in batches: the server's backlog is finite
        await asyncio.gather(*(s.open() for s in subscribers[start:start + 50]))
    # A fixed set of workers, each with its own connection, takes the POSTs as they fall due: a
    # server that falls behind makes the due POSTs wait here (counted as late), in an O(1) queue,
    # not thousands of requests queued inside the HTTP client's pool.
    workers = args.connections
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    latencies: list[float] = []
    lateness: list[float] = []
    errors: dict[str, int] = {}
    posted = skipped = 0
    next_sub = 0
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal next_sub
            while (job := await due.get()) is not None:
                n, due_at = job
                t = time.perf_counter()
                lateness.append(max(0.0, time.monotonic() - due_at) * 1000)
                try:
                    r = await client.post("/pets", json={"name": f"Soak {n}", "species": "dog" if n % 2 else "cat",
                                                         "ageMonths": n % 120})
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append((time.perf_counter() - t) * 1000)
                if r.status_code != 201:
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                    continue
                group = r.json()["__motia"]["groupId"]
                sub = subscribers[next_sub % len(subscribers)]
                next_sub += 1
                with contextlib.suppress(Exception):
                    await sub.follow(group)

        pool = [asyncio.create_task(worker()) for _ in range(workers)]
        load_start = time.monotonic()
        total = int(args.seconds * args.rate)
        for n in range(total):
            due_at = load_start + n / args.rate
            delay = due_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait((n, due_at))
        # The load stops on time: POSTs still waiting for a connection then are not sent (a server
        # that keeps up leaves none), and those in flight finish.
        while not due.empty():
            due.get_nowait()
            skipped += 1
        for _ in pool:
            due.put_nowait(None)
        await asyncio.gather(*pool)
        posted = total - skipped
        load_end = time.monotonic() - t0
        await asyncio.sleep(args.idle_seconds)

        # What a client pays for the list once every soak pet is stored: the first page, and the third.
        page_ms: list[float] = []
        cursor = None
        for _ in range(3):
            t = time.perf_counter()
            r = await client.get("/pets", params={"limit": 50, **({"cursor": cursor} if cursor else {})})
            page_ms.append(round((time.perf_counter() - t) * 1000, 2))
            body = r.json() if r.status_code == 200 else None
            cursor = body.get("nextCursor") if isinstance(body, dict) else None
            if not cursor:
                break

    stop_sampling.set()
    await sampler
    frames = sum(s.frames for s in subscribers)
    await asyncio.gather(*(s.close() for s in subscribers))

    warm = [(t, kib) for t, kib in samples if args.warmup_seconds <= t - (load_start - t0) <= load_end]
    loaded = [(t, kib) for t, kib in samples if t <= load_end]
    idle = [(t, kib) for t, kib in samples if t > load_end]
    # The plateau: the median of the load's last minute (or last quarter, when shorter).
    tail = max(load_end - min(60.0, (load_end - (load_start - t0)) / 4), 0)
    plateau = statistics.median(kib for t, kib in loaded if t >= tail) if loaded else 0
    idle_end = idle[-1][1] if idle else 0
    return {
        "seconds": args.seconds, "rate_per_s": args.rate, "subscribers": args.subscribers,
        "warmup_seconds": args.warmup_seconds, "idle_seconds": args.idle_seconds,
        "posted": posted, "not_sent_server_behind": skipped, "answered": len(latencies), "errors": errors,
        "frames_received": frames,
        "post_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                    "max": max(latencies) if latencies else None},
        # How long due POSTs waited for a free connection: the server keeping up or not.
        "post_late_ms": {"p50": percentile(lateness, 50), "p99": percentile(lateness, 99),
                         "max": max(lateness) if lateness else None},
        "load_seconds_actual": round(load_end - (load_start - t0), 1),
        "rss_kib": {"start": samples[0][1] if samples else 0,
                    "at_warmup": warm[0][1] if warm else None, "end_of_load": loaded[-1][1] if loaded else 0,
                    "plateau": plateau, "peak": max(k for _, k in samples) if samples else 0,
                    "idle_end": idle_end},
        "slope_mb_per_min_after_warmup": slope_mb_per_min(warm),
        "slope_mb_per_min_whole_load": slope_mb_per_min(loaded),
        "idle_vs_plateau_pct": round((idle_end - plateau) / plateau * 100, 2) if plateau else None,
        "list_page_ms": page_ms,
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--pid", type=int, required=True, help="the serving process, whose RSS is sampled")
    p.add_argument("--seconds", type=float, default=300, help="how long the load runs")
    p.add_argument("--rate", type=float, default=50, help="POST /pets per second")
    p.add_argument("--subscribers", type=int, default=200)
    p.add_argument("--warmup-seconds", type=float, default=120, help="load left out of the slope")
    p.add_argument("--idle-seconds", type=float, default=60, help="quiet time after the load")
    p.add_argument("--sample-every", type=float, default=1.0)
    p.add_argument("--connections", type=int, default=16, help="HTTP connections posting (one worker each)")
    p.add_argument("--json", type=Path, help="write the result here (else standard output)")
    args = p.parse_args(argv)
    result = asyncio.run(soak(args))
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""set() -> client receipt latency over Server-Sent Events beside the WebSocket, one client each.

The stream scenario's method (bench/clients/stream-latency.mjs), for both transports in one Python
process so they are measured alike: each run posts ``/pets`` to the bench app (its event step
makes five paced set()s, each stamped ``sentAt`` from the server's wall clock just before the
call), one client joins the run's group, waits for its sync, and each update frame's latency is
its receipt wall-clock time minus ``sentAt``. Runs alternate between the transports (WebSocket,
SSE, WebSocket...) on the same server, so the two are not compared across server starts or load
phases. ``WARMUP`` runs of each come first and are discarded. The peer (Motia 0.17) has no SSE:
this scenario is ours alone.

Usage: python bench/sse_latency.py --url http://127.0.0.1:3111 [--runs 40] [--delay-ms 300]
       [--gap-ms 50] [--warmup 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

UPDATES = 5  # the bench app's PetProgress step: five set()s after the start delay


def summary(values: list[float]) -> dict[str, Any]:
    """n, min, p50, p95, p99, max, mean: the Node clients' stats.mjs, same rank rule."""
    s = sorted(values)
    if not s:
        return {"n": 0}

    def pct(p: float) -> float:
        return s[min(len(s) - 1, max(0, -(-int(p * len(s)) // 100) - 1))]
    return {"n": len(s), "min": round(s[0], 3), "p50": round(pct(50), 3), "p95": round(pct(95), 3),
            "p99": round(pct(99), 3), "max": round(s[-1], 3), "mean": round(sum(s) / len(s), 3)}


async def _post(http: httpx.AsyncClient, run: int, delay_ms: int, gap_ms: int) -> str:
    response = await http.post("/pets", json={"name": f"sse{run}", "startDelayMs": delay_ms, "gapMs": gap_ms})
    response.raise_for_status()
    return str(response.json()["traceId"])


def _update(frame: dict[str, Any]) -> dict[str, Any] | None:
    """The item of a real update frame of the progress steps (seq 1..5), else None."""
    event = frame.get("event") or {}
    data = event.get("data") if event.get("type") == "update" else None
    return data if isinstance(data, dict) and isinstance(data.get("seq"), int) and 1 <= data["seq"] <= 5 else None


async def ws_run(url: str, http: httpx.AsyncClient, run: int, delay_ms: int, gap_ms: int,
                 timeout_s: float) -> list[float]:
    async with websockets.connect(url.replace("http", "ws", 1)) as ws:
        group = await _post(http, run, delay_ms, gap_ms)
        await ws.send(json.dumps({"type": "join", "data": {"streamName": "petCreation", "groupId": group,
                                                           "subscriptionId": uuid.uuid4().hex}}))
        samples: list[float] = []
        async with asyncio.timeout(timeout_s):
            while len(samples) < UPDATES:
                raw = await ws.recv()
                received = time.time() * 1000
                data = _update(json.loads(raw))
                if data is not None:
                    samples.append(received - data["sentAt"])
        return samples


async def sse_run(http: httpx.AsyncClient, run: int, delay_ms: int, gap_ms: int, timeout_s: float) -> list[float]:
    group = await _post(http, run, delay_ms, gap_ms)
    samples: list[float] = []
    async with asyncio.timeout(timeout_s), http.stream(
            "GET", f"/__streams/petCreation/{group}", headers={"accept": "text/event-stream"}) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            received = time.time() * 1000
            data = _update(json.loads(line[6:]))
            if data is not None:
                samples.append(received - data["sentAt"])
                if len(samples) == UPDATES:
                    break
    return samples


async def measure(url: str, runs: int, delay_ms: int, gap_ms: int, warmup: int) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {"websocket": [], "sse": []}
    missed = {"websocket": 0, "sse": 0}
    timeout_s = (delay_ms + UPDATES * gap_ms) / 1000 + 10
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for i in range(-2 * warmup, 2 * runs):
            transport = "websocket" if i % 2 == 0 else "sse"
            try:
                if transport == "websocket":
                    samples = await ws_run(url, http, i, delay_ms, gap_ms, timeout_s)
                else:
                    samples = await sse_run(http, i, delay_ms, gap_ms, timeout_s)
            except TimeoutError:
                samples = []
            if i >= 0:
                latencies[transport].extend(samples)
                missed[transport] += UPDATES - len(samples)
            await asyncio.sleep(0.1)
    return {"test": "stream-set-to-receive, SSE beside WebSocket", "runs_each": runs, "warmup_runs_each": warmup,
            "startDelayMs": delay_ms, "gapMs": gap_ms, "updates_per_run": UPDATES,
            "missed_updates": missed,
            "latency_ms": {name: summary(values) for name, values in latencies.items()}}


def sc_sse(run: Any) -> dict[str, Any]:
    """The suite's ``sse`` scenario (scenarios.py): our server alone, paced like ``stream``'s paced_1."""
    import subprocess
    import sys

    from servers import Ours
    from settings import BENCH

    s = run.sizes
    server = Ours()
    server.start("sse")
    try:
        target = run.raw / "sse-latency.json"
        subprocess.run([sys.executable, str(BENCH / "sse_latency.py"), "--url", server.url, "--runs", str(s.runs1),
                        "--delay-ms", "300", "--gap-ms", str(s.gap_ms), "--warmup", str(s.warmup),
                        "--json", str(target)], check=True, capture_output=True)
        result: dict[str, Any] = json.loads(target.read_text())
        result["rss_after"] = server.rss()
        return {"ours": result}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=40, help="runs of each transport")
    parser.add_argument("--delay-ms", type=int, default=300)
    parser.add_argument("--gap-ms", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(measure(args.url, args.runs, args.delay_ms, args.gap_ms, args.warmup))
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

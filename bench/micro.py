"""Per-operation costs inside one process (no network): what a request or a set() costs the event loop.

Each figure is the best of ``--repeats`` rounds of ``--n`` calls (the least disturbed by other work on
the machine), in µs per call:

- ``log_entry``: one ``ctx.logger.info(msg, meta)`` (redaction, Powertools' JSON line to /dev/null,
  the host's sink);
- ``api_ping``: ``dispatch.run_api`` of the bench app's ``GET /ping`` on the local host's runtime
  (trace recorder on, as in ``motia dev``), without HTTP;
- ``event_chain``: ``run_event`` of the bench app's ``PetProgress`` step (5 set()s, 2 send()s on SQLite)
  with one subscribed connection whose frames are encoded and queued, per event;
- ``trace_id``: ``new_trace_id()``.

Usage: python bench/micro.py [--n 2000] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parent / "app"


def _best(fn: Callable[[int], float], n: int, repeats: int) -> float:
    return round(min(fn(n) for _ in range(repeats)) / n * 1e6, 2)


async def _abest(fn: Callable[[int], Awaitable[float]], n: int, repeats: int) -> float:
    times = [await fn(n) for _ in range(repeats)]
    return round(min(times) / n * 1e6, 2)


def log_entry(n: int) -> float:
    from motia_runtime import log as motia_log
    from motia_runtime.log import StepLogger

    sink: list[dict[str, Any]] = []
    logger = StepLogger({"traceId": "ABCDE-1234567", "step": "CreatePet", "flows": ["pets"]}, sink.append)
    logger.info("warm-up")
    base = motia_log._powertools_logger()
    for handler in base._logger.handlers:
        handler.stream = open(os.devnull, "w")  # lives as long as the process
    t = time.perf_counter()
    for i in range(n):
        logger.info("Pet created", {"petId": "p-1", "name": "Rex", "species": "dog", "n": i})
    return time.perf_counter() - t


def trace_id(n: int) -> float:
    from motia_runtime.trace import new_trace_id

    t = time.perf_counter()
    for _ in range(n):
        new_trace_id()
    return time.perf_counter() - t


async def _local(n: int, repeats: int) -> dict[str, float]:
    from motia_runtime.dispatch import run_api, run_event
    from motia_runtime.hosts.local.app import DevSettings, LocalHost
    from motia_runtime.hosts.local.hub import Connection
    from motia_runtime.ports.events import Event
    from motia_runtime.protocol import Subscription

    host = LocalHost.open(DevSettings(APP, Path(tempfile.mkdtemp(prefix="motia-micro-"))))
    host.feed.bind(asyncio.get_running_loop())
    runtime = host.runtime
    ping, progress = runtime.project.steps["Ping"], runtime.project.steps["PetProgress"]

    async def send(_: str) -> None:
        return None

    async def close(_code: int, _reason: str) -> None:
        return None

    connection = Connection(send, close)
    request: Any = {"pathParams": {}, "queryParams": {}, "body": None, "headers": {}, "rawBody": ""}

    async def api(k: int) -> float:
        t = time.perf_counter()
        for _ in range(k):
            await run_api(runtime, ping, dict(request))
        return time.perf_counter() - t

    counter = iter(range(10**9))

    async def chain(k: int) -> float:
        elapsed = 0.0
        for _ in range(k):
            group = f"G-{next(counter)}"
            host.hub.subscribe(connection, Subscription("petCreation", group, None, group))
            t = time.perf_counter()
            await run_event(runtime, progress, Event("pet.created", {"name": "Rex"}, group, None))
            elapsed += time.perf_counter() - t
            if connection.outbox:
                connection.outbox.clear()  # frames dropped unsent: the pump, if one was started, ends at once
            host.hub.unsubscribe(connection, group)
        return elapsed

    await api(50)
    await chain(20)
    out = {"api_ping": await _abest(api, n, repeats), "event_chain": await _abest(chain, max(n // 4, 1), repeats)}
    await runtime.aclose()
    host.db.close()
    return out


def run(n: int, repeats: int) -> dict[str, float]:
    os.environ.setdefault("LOG_LEVEL", "info")
    results = {"log_entry": _best(log_entry, n, repeats), "trace_id": _best(trace_id, n * 5, repeats)}
    results.update(asyncio.run(_local(n, repeats)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.n, args.repeats)
    text = json.dumps(results, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

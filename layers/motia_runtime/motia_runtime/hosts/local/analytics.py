"""Live stream analytics of ``motia dev`` (``GET /__motia/streams/analytics``, the Workbench's
Streams view): per stream and per group, connected clients, subscriptions, frames pushed per
second, delivery lag p50/p99 and refused joins over the last ``WINDOW_S`` seconds.

The hub counts (``stream_stats``: integers and a fixed-bucket histogram, nothing per frame);
once a second a task here samples the counters into the window. With Redis (``--redis-url``,
``--workers N``) each worker also writes its window and its clients to
``<prefix>:analytics:<worker>`` (expiring after ``PUBLISH_TTL_MS``, so a worker that stopped
drops out), and whichever worker answers the request adds every worker's entry: the numbers
are the server's, whichever worker the browser reached. Without Redis there is one worker and
its own window is the answer.

Behind the Workbench's trust boundary (trust.py), like the rest of ``/__motia/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ...stream_stats import Window, merge, report
from .hub import Hub

if TYPE_CHECKING:
    from ...adapters.redis import RedisBackend
    from ...runtime import Runtime

WINDOW_S = 10
TICK_S = 1.0
PUBLISH_TTL_MS = 5000


def clients_now(hub: Hub) -> dict[str, Any]:
    """This worker's connections: (clients, subscriptions) per group, distinct clients per stream."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    streams: dict[str, int] = defaultdict(int)
    for connection in hub.connections:
        seen_groups: set[tuple[str, str]] = set()
        seen_streams: set[str] = set()
        for sub in connection.subscriptions.values():
            where = (sub.stream_name, sub.group_id)
            groups[where][1] += 1
            if where not in seen_groups:
                seen_groups.add(where)
                groups[where][0] += 1
            if sub.stream_name not in seen_streams:
                seen_streams.add(sub.stream_name)
                streams[sub.stream_name] += 1
    return {"groups": [[s, g, c, n] for (s, g), (c, n) in groups.items()], "streams": dict(streams)}


class StreamAnalytics:
    """The sampler task and the answer of ``/__motia/streams/analytics``."""

    def __init__(self, runtime: Runtime, hub: Hub, redis: RedisBackend | None) -> None:
        self.runtime = runtime
        self.hub = hub
        self.window = Window(hub.stats, WINDOW_S)
        self.redis = redis
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.key_prefix = f"{redis.prefix}:analytics:" if redis is not None else ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.client.delete(self.key_prefix + self.worker)

    def _entry(self) -> dict[str, Any]:
        return {"window": self.window.snapshot(), "clients": clients_now(self.hub)}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.window.tick(keep=self.hub.rooms.keys())
            if self.redis is None:
                continue
            try:
                await self.redis.client.set(self.key_prefix + self.worker, json.dumps(self._entry()),
                                            px=PUBLISH_TTL_MS)
            except Exception as exc:  # Redis away: the next tick tries again; the page shows this worker
                self.runtime.logger().child(entry="analytics").warning(f"analytics not shared: {exc}")

    async def _entries(self) -> list[dict[str, Any]]:
        own = self._entry()
        if self.redis is None:
            return [own]
        client = self.redis.client
        keys = [key async for key in client.scan_iter(match=self.key_prefix + "*", count=100)]
        mine = self.key_prefix + self.worker
        others = [k for k in keys if (k.decode() if isinstance(k, bytes) else k) != mine]
        values = await client.mget(others) if others else []
        return [own, *(json.loads(v) for v in values if v is not None)]

    async def answer(self) -> dict[str, Any]:
        try:
            entries = await self._entries()
        except Exception as exc:  # Redis away: this worker's own numbers, and why they are partial
            self.runtime.logger().child(entry="analytics").warning(f"other workers' analytics not read: {exc}")
            entries = [self._entry()]
        presence: dict[tuple[str, str], tuple[int, int]] = {}
        stream_clients: dict[str, int] = defaultdict(int)
        for entry in entries:
            for stream, group, clients, subscriptions in entry["clients"]["groups"]:
                before = presence.get((stream, group), (0, 0))
                presence[(stream, group)] = (before[0] + clients, before[1] + subscriptions)
            for stream, clients in entry["clients"]["streams"].items():
                stream_clients[stream] += clients
        return report(merge(e["window"] for e in entries), presence, stream_clients, list(self.runtime.streams))

"""The Redis hop under ``motia dev --workers 2`` (issue 22): how much later a ``set()`` made on one worker
reaches a subscriber on the other worker (through Redis) than a subscriber on its own worker.

Which worker serves a connection is the kernel's choice (each worker has its own ``SO_REUSEPORT``
socket, hosts/local/workers.py), so the client asks it: on a raw keep-alive connection it first sends
``POST /fanout`` with ``updates`` 0 (the bench app's ``FanoutBurst`` answers with its process id) and then,
on a subscriber's connection, the WebSocket upgrade on that same connection: same TCP connection, same
worker. It keeps one subscriber per worker; each update is a ``POST /fanout`` on a new connection (the
kernel picks its worker, the answer names it), both subscribers time its frame (receipt - the step's ``sentAt``, one
clock), and the one on the setter's worker is the "local" sample, the other the "remote" one. The
added latency is ``p50(remote) - p50(local)``; the median of the per-update differences is given too.

    python bench/redis_hop.py --url http://127.0.0.1:3111 --updates 400 --json out.json   # the client
Scenario ``redis_hop`` (bench/run.py --only redis_hop) runs it against ``motia dev`` as one process and
then against ``--workers 2`` with its own redis-server: the hop's added latency is the p50 to the other
worker's subscriber over the one process's p50 (with Redis, the setter's own worker also hears the
change back from Redis pub/sub: adapters/redis/streams.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fanout_local import masked, run_on_uvloop  # the same client frames as the fan-out client's

GAP_S = 0.05  # paced as the stream scenario


def _frames(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Complete server frames (unmasked) in ``buf``: (opcode, payload) each, and what is left."""
    out, pos, size = [], 0, len(buf)
    while size - pos >= 2:
        n, head = buf[pos + 1] & 0x7F, 2
        if n == 126:
            if size - pos < 4:
                break
            n, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
        elif n == 127:
            if size - pos < 10:
                break
            n, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
        if size - pos < head + n:
            break
        out.append((buf[pos] & 0x0F, buf[pos + head:pos + head + n]))
        pos += head + n
    return out, buf[pos:]


class Link:
    """One keep-alive connection: ``POST /fanout``s, and optionally then a WebSocket on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host
        self.pid = 0
        self.received: dict[int, float] = {}  # seq -> latency (ms) of its update frame
        self.arrived = asyncio.Event()

    @classmethod
    async def open(cls, host: str, port: int, whoami: bool = True) -> Link:
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = cls(reader, writer, f"{host}:{port}")
        if whoami:
            link.pid = (await link.post({"group": "whoami", "updates": 0}))["pid"]
        return link

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        self.writer.write(f"POST /fanout HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"POST /fanout: {head[:200]!r}")
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        answer: dict[str, Any] = json.loads(await self.reader.readexactly(length))
        return answer

    async def subscribe(self, group: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET / HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"upgrade refused: {head[:200]!r}")
        self.writer.write(masked(0x81, json.dumps({"type": "join", "data": {
            "streamName": "petCreation", "groupId": group, "subscriptionId": str(uuid.uuid4())}}).encode()))
        asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        buf = b""
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            now = time.time() * 1000
            frames, buf = _frames(buf + data)
            for opcode, payload in frames:
                if opcode == 0x9:
                    self.writer.write(masked(0x8A, payload))
                elif opcode == 0x1:
                    event = json.loads(payload).get("event") or {}
                    if event.get("type") in ("create", "update"):  # the first set() creates the item
                        self.received[event["data"]["seq"]] = now - event["data"]["sentAt"]
                        self.arrived.set()


async def _one_per_worker(host: str, port: int, workers: int, within_s: float = 60) -> dict[int, Link]:
    """A subscriber on each worker. The port answers once the first worker listens; the others may
    still be loading the project (seconds on a busy machine), so keep asking until ``within_s``."""
    found: dict[int, Link] = {}
    deadline = time.monotonic() + within_s
    tries = 0
    while time.monotonic() < deadline:
        tries += 1
        link = await Link.open(host, port)
        if link.pid in found:
            link.writer.close()
            await asyncio.sleep(0.02)
        else:
            found[link.pid] = link
        if len(found) == workers:
            return found
    raise RuntimeError(f"found {len(found)} of {workers} workers in {tries} connections over {within_s:.0f} s")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _spread(values: list[float]) -> dict[str, Any]:
    return {"p50": _pct(values, 0.5), "p95": _pct(values, 0.95), "p99": _pct(values, 0.99), "n": len(values)}


async def measure(url: str, updates: int, warmup: int, workers: int) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    group = f"hop-{uuid.uuid4().hex[:8]}"
    subscribers = await _one_per_worker(host, port, workers)
    for sub in subscribers.values():
        await sub.subscribe(group)
    await asyncio.sleep(0.5)  # the joins answered (their sync frames are not update frames)
    pids = sorted(subscribers)
    by_setter = dict.fromkeys(pids, 0)
    local: list[float] = []
    remote: list[float] = []
    paired: list[float] = []
    missed = 0
    seq = 0  # the step numbers a burst's updates from 0: each POST sets one update with seq 0
    for i in range(-warmup, updates):
        for sub in subscribers.values():
            sub.received.pop(seq, None)
        # A connection of its own each time: the kernel picks the worker, the answer names it.
        setter = await Link.open(host, port, whoami=False)
        pid = (await setter.post({"group": group, "updates": 1}))["pid"]
        setter.writer.close()
        by_setter[pid] = by_setter.get(pid, 0) + (i >= 0)
        deadline = time.perf_counter() + 5
        while not all(seq in s.received for s in subscribers.values()) and time.perf_counter() < deadline:
            for sub in subscribers.values():
                sub.arrived.clear()
            await asyncio.wait([asyncio.ensure_future(s.arrived.wait()) for s in subscribers.values()], timeout=0.1)
        if not all(seq in s.received for s in subscribers.values()):
            missed += 1
            continue
        if i >= 0:
            mine = subscribers[pid].received[seq]
            others = [s.received[seq] for p, s in subscribers.items() if p != pid]
            local.append(mine)
            remote.extend(others)
            paired.extend(o - mine for o in others)
        await asyncio.sleep(GAP_S)
    for link in subscribers.values():
        link.writer.close()

    return {"workers": pids, "updates": updates, "updates_by_setter": by_setter, "warmup": warmup, "missed": missed,
            "local_ms": _spread(local), "remote_ms": _spread(remote),
            "added_p50_ms": None if not local or not remote else round(statistics.median(remote)
                                                                        - statistics.median(local), 3),
            "paired_difference_ms": {"p50": _pct(paired, 0.5), "p95": _pct(paired, 0.95)}}


# -- the bare hop: the same path with nothing of ours ------------------------------------------
# One process runs a script that writes a key and PUBLISHes a stamp (what the WRITE script does, less
# its bookkeeping), paced as the scenario; another process SUBSCRIBEd to the channel reads it. Both on
# raw asyncio connections (uvloop when installed, as `motia dev`), nothing pinned, the same redis-server.
# Its p50 is what one more process and Redis cost on this machine with no runtime at all.
BARE_SCRIPT = "redis.call('SET', KEYS[1], ARGV[2]) return redis.call('PUBLISH', ARGV[1], ARGV[2])"
BARE_CHANNEL = "bench-bare-hop"


def _resp(*parts: str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _read_reply(reader: asyncio.StreamReader) -> list[bytes]:
    """One RESP2 reply of the kinds these two connections get: an array of bulk strings and integers,
    or a single line (an error raises)."""
    line = await reader.readline()
    if line.startswith(b"-"):
        raise RuntimeError(f"redis: {line.decode().strip()}")
    if not line.startswith(b"*"):
        return [line[1:].strip()]
    items = []
    for _ in range(int(line[1:])):
        head = await reader.readline()
        items.append(await reader.readexactly(int(head[1:]) + 2) if head.startswith(b"$") else head[1:])
    return [item.rstrip(b"\r\n") for item in items]


async def bare_subscribe(port: int, count: int) -> list[float]:
    """Subscribe, say "ready" on stdout, and time ``count`` stamps (receipt - stamp, ms)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_resp("SUBSCRIBE", BARE_CHANNEL))
    await _read_reply(reader)
    print("ready", flush=True)
    latencies: list[float] = []
    while len(latencies) < count:
        kind, _channel, stamp = await _read_reply(reader)
        if kind == b"message":
            latencies.append(time.time() * 1000 - float(stamp))
    writer.close()
    return latencies


async def bare_publish(port: int, updates: int, warmup: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(warmup + updates):
        await asyncio.sleep(GAP_S)
        writer.write(_resp("EVAL", BARE_SCRIPT, "1", "bench-bare-hop-key", BARE_CHANNEL, repr(time.time() * 1000)))
        await _read_reply(reader)
    writer.close()


def bare_hop(redis_port: int, updates: int, warmup: int) -> dict[str, Any]:
    """The bare hop's latencies: this process publishes, a child process subscribes."""
    child = subprocess.Popen([sys.executable, __file__, "--bare-subscribe", str(redis_port), "--updates",
                              str(updates + warmup)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        run_on_uvloop(bare_publish(redis_port, updates, warmup))
        latencies: list[float] = json.loads(child.stdout.read())[warmup:]
    finally:
        child.wait(30)
    return {"updates": updates, "warmup": warmup, **_spread(latencies)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(placement: Any, port: int, data: Path, *extra: str) -> subprocess.Popen[bytes]:
    from machine import pinned
    from settings import APP

    shutil.rmtree(data, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "OPENAI_"))}
    server = subprocess.Popen(pinned([str(Path(sys.executable).with_name("motia")), "dev", "--root", str(APP),
                                      "--port", str(port), "--data-dir", str(data), *extra], placement.server),
                              env={**env, "LOG_LEVEL": "warning"}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    time.sleep(2)  # every worker up
    return server


def _client(run: Any, placement: Any, label: str, updates: int, warmup: int, *where: str) -> Any:
    from machine import pinned

    target = run.raw / f"redis-hop-{label}.json"
    subprocess.run(pinned([sys.executable, __file__, *where, "--updates", str(updates), "--warmup", str(warmup),
                           "--json", str(target)], placement.client), check=True, stdout=subprocess.DEVNULL,
                   timeout=600)
    return json.loads(target.read_text())


def sc_redis_hop(run: Any) -> dict[str, Any]:
    """The same client against ``motia dev`` as one process (SQLite, changes notified in-process) and
    then against ``--workers 2 --redis-url`` (every change, the writer's own included, comes back over
    Redis pub/sub: adapters/redis/streams.py), nothing pinned (the workers are there to use the cores),
    the same for both. The hop's added latency: the 2-worker run's p50 to the subscriber on the other worker
    over the one process's p50."""
    from limits import figure
    from machine import SHARED, pinned
    from settings import TMP, log

    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (make redis)")
    # Nothing pinned: two workers and redis-server on the one core the other scenarios give a server
    # would measure how three processes take turns on it, not the hop (workers are there for cores).
    placement = SHARED
    quick = run.sizes.wrk_s < 10
    updates, warmup = (40, 10) if quick else (400, 40)
    out: dict[str, Any] = {}
    log(f"redis hop: {updates} updates, one process")
    port = _free_port()
    server = _serve(placement, port, TMP / "data" / "redis-hop-1", "--no-reload")
    try:
        out["one_process"] = _client(run, placement, "one", updates, warmup, "--url", f"http://127.0.0.1:{port}",
                                     "--workers", "1")
    finally:
        os.killpg(server.pid, 15)
        server.wait(20)
    log(f"redis hop: {updates} updates through 2 workers and Redis")
    redis_port, port = _free_port(), _free_port()
    redis = subprocess.Popen(pinned(["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
                                     "--appendonly", "no"], placement.server),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server = _serve(placement, port, TMP / "data" / "redis-hop-2", "--workers", "2", "--redis-url",
                        f"redis://127.0.0.1:{redis_port}/0")
        try:
            out["two_workers"] = _client(run, placement, "two", updates, warmup, "--url", f"http://127.0.0.1:{port}",
                                         "--workers", "2")
        finally:
            os.killpg(server.pid, 15)
            server.wait(20)
        log(f"redis hop: {updates} updates, the bare hop through the same redis-server")
        out["bare_hop"] = _client(run, placement, "bare", updates, warmup, "--bare-redis", str(redis_port))
    finally:
        redis.terminate()
        redis.wait(10)
    one, two = out["one_process"]["local_ms"]["p50"], out["two_workers"]["remote_ms"]["p50"]
    added = None if one is None or two is None else round(two - one, 3)
    bare = out["bare_hop"]["p50"]
    figures = [figure("set() → subscriber on another worker over Redis (--workers 2): added p50", "ms", added, 0.5,
                      target=1.0, better="lower",
                      note=f"against the target: {two} ms to the other worker, {one} ms in one process (SQLite); "
                           f"the setter's own worker over Redis {out['two_workers']['local_ms']['p50']} ms; the bare "
                           f"hop {bare} ms"),
               figure("set() → other worker over Redis: added p50 (limit: the bare hop, paced the same)", "ms", added,
                      bare, better="lower",
                      note="context for the ≤ 0.5 ms target: one more process and Redis, with nothing of ours")]
    return {"figures": figures, "placement": placement.describe(), **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="motia dev to measure")
    where.add_argument("--bare-redis", type=int, metavar="PORT", help="the bare hop through this redis-server")
    where.add_argument("--bare-subscribe", type=int, metavar="PORT", help=argparse.SUPPRESS)  # bare_hop's child
    parser.add_argument("--updates", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.bare_subscribe:
        print(json.dumps(run_on_uvloop(bare_subscribe(args.bare_subscribe, args.updates))))
        return
    if args.bare_redis:
        result = bare_hop(args.bare_redis, args.updates, args.warmup)
    else:
        result = asyncio.run(measure(args.url, args.updates, args.warmup, args.workers))
    text = json.dumps(result)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

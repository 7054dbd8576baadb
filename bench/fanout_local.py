"""Fan-out of ``motia dev`` to N WebSocket subscribers of one group, beside the bare broadcast (issue 22).

One client process (run where the suite's placement puts clients) opens N raw WebSocket connections
(asyncio on uvloop, frames counted from their headers: no library's per-frame cost), and:

* **memory per idle subscriber**: the server's RSS before the connections and once all of them are open
  (each has sent its join and read the answer: ours the group's sync, the bare server an echo), over N;
* **slowest subscriber after one update**: time from sending the trigger to the last of the N frames;
* **frames/s**: ``updates`` updates in a row, N x updates frames over the time from the trigger to the
  last frame, with the server's CPU per frame over the same burst and the client's own CPU share of
  it (near 1: this reader, not the server, set the pace);
* ``burst_marks``: each burst's start on CLOCK_MONOTONIC, to line bursts up with a server-side
  profile (``perf record -k mono``, ``gc.callbacks``).

``--kind ours``: the subscribers join ``petCreation``/<group> and ``POST /fanout`` (the bench app's
``FanoutBurst`` step) sets the item ``updates`` times. ``--kind bare``: bench/bare_server.py, whose
``POST /broadcast`` writes one pre-encoded frame of the same size per update to every socket.

    python bench/fanout_local.py --url http://127.0.0.1:3111 --pid 1234 --kind ours --n 1000 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """The process's user + system CPU (clock ticks of 10 ms): steadier than wall time on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def masked(first: int, payload: bytes) -> bytes:
    """A client frame (always masked, RFC 6455 §5.3): ``first`` is FIN and the opcode."""
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([first, 0x80 | size]) if size < 126 else bytes([first, 0x80 | 126]) + size.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def masked_text(text: str) -> bytes:
    return masked(0x81, text.encode())


class Subscriber(asyncio.Protocol):
    """One socket: the handshake, then only frame boundaries are read (server frames are unmasked)."""

    def __init__(self, host: str, path: str) -> None:
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.buf = b""
        self.upgraded = asyncio.get_running_loop().create_future()
        self.frames = 0
        self.last_frame_at = 0.0
        self.last_frame_size = 0
        self.target = 0
        self.reached: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.buf + data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(RuntimeError(buf[:200].decode(errors="replace")))
                return
            self.upgraded.set_result(None)
            buf = buf[end + 4:]
        pos, size = 0, len(buf)
        while size - pos >= 2:
            n = buf[pos + 1] & 0x7F
            head = 2
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
            opcode = buf[pos] & 0x0F
            if opcode == 0x9 and self.transport is not None:  # the server's keepalive ping: answer it
                self.transport.write(masked(0x8A, buf[pos + head:pos + head + n]))
            elif opcode in (0x1, 0x2):  # only data frames are counted
                self.last_frame_size = n
                self.frames += 1
                self.last_frame_at = now
            pos += head + n
        self.buf = buf[pos:]
        if self.reached is not None and self.frames >= self.target and not self.reached.done():
            self.reached.set_result(None)

    def expect(self, frames: int) -> asyncio.Future[None]:
        self.target = self.frames + frames
        self.reached = asyncio.get_running_loop().create_future()
        if self.frames >= self.target:
            self.reached.set_result(None)
        return self.reached


async def post(host: str, port: int, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(host, port)
    data = json.dumps(body or {}).encode()
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    raw = await reader.read()
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"POST {path}: {head[:200]!r}")
    try:
        result: dict[str, Any] = json.loads(rest)
    except ValueError:
        result = {}
    return result


async def measure(url: str, pid: int, kind: str, n: int, updates: int, rounds: int, settle_s: float,
                  frame_bytes: int) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    group = f"fan-{uuid.uuid4().hex[:8]}"
    await asyncio.sleep(settle_s)
    before = rss_kib(pid)
    subs: list[Subscriber] = []
    t_connect = time.perf_counter()
    for start in range(0, n, 250):  # in slices: the listen backlog is uvicorn's default
        batch = [Subscriber(f"{host}:{port}", "/") for _ in range(min(250, n - start))]
        await asyncio.gather(*(loop.create_connection(lambda s=s: s, host, port) for s in batch))
        await asyncio.gather(*(s.upgraded for s in batch))
        subs.extend(batch)
    # Every subscriber sends its join and waits for one frame back: ours answers with the group's sync,
    # the bare server echoes it, so both have read and written a frame on every socket.
    synced = [s.expect(1) for s in subs]
    for s in subs:
        assert s.transport is not None
        s.transport.write(masked_text(json.dumps({"type": "join", "data": {
            "streamName": "petCreation", "groupId": group, "subscriptionId": str(uuid.uuid4())}})))
    await asyncio.wait_for(asyncio.gather(*synced), 120)
    connect_s = time.perf_counter() - t_connect
    await asyncio.sleep(settle_s)
    after = rss_kib(pid)

    marks: list[tuple[int, float]] = []  # (updates, CLOCK_MONOTONIC): to line bursts up with server-side traces

    async def burst(count: int, frame_bytes: int) -> tuple[float, float]:
        waiting = [s.expect(count) for s in subs]
        marks.append((count, time.monotonic()))
        t0 = time.perf_counter()
        if kind == "ours":
            await post(host, port, "/fanout", {"group": group, "updates": count})
        else:
            await post(host, port, f"/broadcast?updates={count}&bytes={frame_bytes}")
        await asyncio.wait_for(asyncio.gather(*waiting), 300)
        last = max(s.last_frame_at for s in subs)
        return (last - t0) * 1000, n * count / (last - t0)

    # One warm-up update; ours: its change frame's size is given to the bare run (--frame-bytes).
    await burst(1, frame_bytes)
    if kind == "ours":
        frame_bytes = subs[0].last_frame_size
    slowest, rates, cpu_per_frame, client_busy = [], [], [], []
    for _ in range(rounds):
        slowest.append((await burst(1, frame_bytes))[0])
        await asyncio.sleep(0.2)
        cpu0, mine0, wall0 = cpu_s(pid), time.process_time(), time.perf_counter()
        rates.append((await burst(updates, frame_bytes))[1])
        cpu_per_frame.append((cpu_s(pid) - cpu0) * 1e6 / (n * updates))
        # The client's own CPU over the burst's wall time: near 1, the reader (not the server) set the pace.
        client_busy.append((time.process_time() - mine0) / (time.perf_counter() - wall0))
        await asyncio.sleep(0.2)
    for s in subs:
        if s.transport is not None:
            s.transport.close()
    return {"kind": kind, "subscribers": n, "updates_per_burst": updates, "rounds": rounds,
            "frame_payload_bytes": frame_bytes, "connect_and_join_s": round(connect_s, 2),
            "rss_before_kib": before, "rss_after_kib": after, "kib_per_subscriber": round((after - before) / n, 2),
            "slowest_ms": [round(x, 2) for x in slowest], "slowest_ms_median": round(statistics.median(slowest), 2),
            "frames_per_s": [round(x) for x in rates], "frames_per_s_median": round(statistics.median(rates)),
            "server_cpu_us_per_frame": [round(x, 2) for x in cpu_per_frame],
            "server_cpu_us_per_frame_median": round(statistics.median(cpu_per_frame), 2),
            "client_cpu_share": [round(x, 2) for x in client_busy], "burst_marks": marks}


def run_on_uvloop(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (uvicorn[standard] installs it), as ``motia dev``."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the serving process (for its RSS)")
    parser.add_argument("--kind", choices=["ours", "bare"], required=True)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=20, help="updates per frames/s burst")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--frame-bytes", type=int, default=230, help="bare: the payload size of each frame")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.n + 1000)), hard))
    result = run_on_uvloop(measure(args.url, args.pid, args.kind, args.n, args.updates, args.rounds, args.settle,
                                   args.frame_bytes))
    text = json.dumps(result)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

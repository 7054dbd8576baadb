"""Does a step writing in a loop hold up other clients? (issue 22)

    python bench/set_loop_probe.py --url http://127.0.0.1:3111 --subscribers 100 --sets 2000

``--subscribers`` WebSocket clients join the group ``loop`` of the bench app's ``items`` stream
(bench/busapp); another client, the probe, sends a ``join`` of its own group every ``--every-ms``
and times the ``sync`` that answers it. The probe runs alone for ``--baseline-s`` (its round trip on
an idle server), then ``POST /set-loop`` makes one step run ``--sets`` awaited ``set()``s of one
item in a loop, each fanned out to every subscriber, while the probe keeps probing. The figure is
the slowest probe round trip during the loop, and its excess over the idle median: how long
another client's frame waited behind the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import selectors
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect


def _join(group: str, sub: str) -> str:
    return json.dumps({"type": "join", "data": {"streamName": "items", "groupId": group, "subscriptionId": sub}})


def _raw_socket(host: str, port: int, text: str) -> socket.socket:
    """A WebSocket opened by hand, ``text`` sent as one masked frame: the subscriber then only
    drains bytes, so its reading costs next to nothing (a parsing client would compete with the
    server for the cores)."""
    sock = socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the server closed the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    payload, mask = text.encode(), os.urandom(4)
    size = len(payload)
    header = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return sock


def _subscribers(host: str, port: int, n: int, ready: int, done: int) -> None:
    """In a child process: ``n`` raw subscribers of the group ``loop``; writes one byte to ``ready``
    once joined, drains until ``done`` is closed, then writes the byte count."""
    socks = [_raw_socket(host, port, _join("loop", f"s{i}")) for i in range(n)]
    sel = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
    sel.register(done, selectors.EVENT_READ)
    os.write(ready, b"1")
    received = 0
    while True:
        for key, _ in sel.select():
            if key.fileobj == done:
                os.write(ready, str(received).encode())
                os._exit(0)
            try:
                received += len(key.fileobj.recv(1 << 20))  # type: ignore[union-attr]
            except BlockingIOError:
                pass


async def run(url: str, subscribers: int, sets: int, every_ms: float, baseline_s: float) -> dict[str, Any]:
    ws_url = url.replace("http", "ws", 1) + "/"
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_r)
        os.close(done_w)
        _subscribers(host, int(port), subscribers, ready_w, done_r)
    os.close(ready_w)
    os.close(done_r)
    assert os.read(ready_r, 1) == b"1"
    probe = await connect(ws_url, max_size=None, open_timeout=30)
    rtts: list[tuple[float, float]] = []  # (sent at, round trip ms)
    stop = asyncio.Event()

    async def probing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            sent = time.perf_counter()
            await probe.send(_join(f"probe-{n % 50}", "p"))  # the same subscription, rejoined each time
            while True:
                frame = json.loads(await probe.recv())
                if frame.get("event", {}).get("type") == "sync":
                    break
            rtts.append((sent, (time.perf_counter() - sent) * 1000))
            await asyncio.sleep(every_ms / 1000)

    prober = asyncio.create_task(probing())
    await asyncio.sleep(baseline_s)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        start = time.perf_counter()
        r = await client.post("/set-loop", json={"group": "loop", "n": sets})
        end = time.perf_counter()
        r.raise_for_status()
    await asyncio.sleep(0.2)
    stop.set()
    await prober
    await probe.close()
    await asyncio.sleep(1.0)  # the subscribers drain what is still on its way
    os.close(done_w)
    received = int(os.read(ready_r, 64) or b"0")
    os.waitpid(child, 0)
    idle = sorted(ms for at, ms in rtts if at < start)
    during = sorted(ms for at, ms in rtts if start <= at <= end)
    p50 = idle[len(idle) // 2] if idle else 0.0
    return {
        "subscribers": subscribers, "sets": sets, "loop_s": round(end - start, 3),
        "bytes_received_by_subscribers": received,
        "probe_idle_p50_ms": round(p50, 2), "probe_idle_max_ms": round(idle[-1], 2) if idle else None,
        "probes_during_loop": len(during),
        "probe_max_ms": round(during[-1], 2) if during else None,
        "probe_p99_ms": round(during[int(len(during) * 0.99)], 2) if during else None,
        "max_delay_ms": round(during[-1] - p50, 2) if during else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--sets", type=int, default=2000)
    parser.add_argument("--every-ms", type=float, default=2.0)
    parser.add_argument("--cpus", help="run the probe and the subscribers on these CPUs (taskset list)")
    parser.add_argument("--baseline-s", type=float, default=2.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    result = asyncio.run(run(args.url, args.subscribers, args.sets, args.every_ms, args.baseline_s))
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

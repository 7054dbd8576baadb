"""The local stream socket under faults, over real sockets: replay on rejoin, resync past the
window, and a stalled client that is dropped without delaying anybody else."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from motia_runtime.errors import ConfigError
from motia_runtime.hosts.local.hub import Hub
from motia_runtime.limits import Limits
from tests.local.conftest import APP
from tests.support.inprocess import InProcessServer
from tests.support.ws import StreamSocket

ENV_OUTBOX = "MOTIA_WS_OUTBOX_FRAMES"

WINDOW_MS = 300_000


def _group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


async def _post(server: InProcessServer, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        return await client.post(path, json=body)


def _kind(frame: dict[str, Any]) -> str:
    event = frame["event"]
    return event["type"] if event["type"] != "event" else event["event"]["type"]


async def _join(server: InProcessServer, group: str, id: str | None = None, **extra: Any) -> list[dict[str, Any]]:
    """The frames a fresh connection gets for one join, up to its sync (or error)."""
    ws = await StreamSocket.connect(server.ws_url)
    data = {"streamName": "items", "groupId": group, "subscriptionId": "s1", **({"id": id} if id else {}), **extra}
    await ws.conn.send(json.dumps({"type": "join", "data": data}))
    frames = await ws.recv_until(lambda f: _kind(f) in ("sync", "error"))
    await ws.close()
    return frames


async def test_a_rejoin_with_since_replays_missed_events_then_syncs(server: InProcessServer) -> None:
    group = _group()
    since = (await _join(server, group))[-1]["timestamp"]  # the client's last stamp before it left
    await _post(server, f"/items/{group}/a", {"op": "send", "event": {"type": "tick", "data": {"n": 1}}})
    await _post(server, f"/items/{group}/b", {"op": "send", "event": {"type": "tick", "data": {"n": 2}}})
    await _post(server, f"/items/{group}/a", {"op": "set", "data": {"label": "x"}})
    await _post(server, f"/items/{group}/a", {"op": "send", "event": {"type": "tick", "data": {"n": 3}}})

    frames = await _join(server, group, since=since)
    assert [_kind(f) for f in frames] == ["tick", "tick", "tick", "sync"]
    assert [f["event"]["event"]["data"]["n"] for f in frames[:3]] == [1, 2, 3]
    assert len({f["eventId"] for f in frames[:3]}) == 3 and frames[-1]["event"]["data"][0]["label"] == "x"
    item = await _join(server, group, "a", since=since)
    assert [_kind(f) for f in item] == ["tick", "tick", "sync"]  # only the item room's events
    latest = await _join(server, group, since=frames[-1]["timestamp"])
    assert [_kind(f) for f in latest] == ["sync"]  # nothing new since the last sync
    stale = await _join(server, group, since=since - WINDOW_MS - 1)
    assert [_kind(f) for f in stale] == ["resync", "sync"]
    assert stale[0]["event"]["event"]["data"] == {"reason": "outside the replay window", "since": since - WINDOW_MS - 1}
    for bad in ("yesterday", -1, 1.5, True):
        error = await _join(server, group, since=bad)
        assert error[-1]["event"]["event"]["data"]["code"] == "INVALID_MESSAGE"


# -- a client that stops reading ------------------------------------------------------------------
OUTBOX = 50
FRAME_BYTES = 100_000
COUNT = 200  # 20 MB: far past the stalled socket's buffers plus its 50-frame outbox


@pytest.fixture(scope="module")
def small_outbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    dev = InProcessServer(APP, tmp_path_factory.mktemp("outbox-data"), env={ENV_OUTBOX: str(OUTBOX)}).start()
    yield dev
    dev.stop()


def _masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    head = bytes([0x81])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def stalled_client(port: int, group: str) -> socket.socket:
    """A raw socket that does the handshake, joins ``group``, and then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    join = {"type": "join", "data": {"streamName": "items", "groupId": group, "subscriptionId": "stalled"}}
    sock.sendall(_masked_text(json.dumps(join).encode()))
    return sock


def _until_eof(sock: socket.socket, timeout: float) -> int:
    sock.settimeout(timeout)
    total = 0
    while chunk := sock.recv(1 << 20):
        total += len(chunk)
    return total


async def test_a_stalled_client_is_dropped_and_never_delays_the_others(small_outbox_server: InProcessServer) -> None:
    server, group = small_outbox_server, _group()
    stalled = stalled_client(server.port, group)
    readers = [await StreamSocket.connect(server.ws_url, max_size=None) for _ in range(3)]
    for ws in readers:
        await ws.join("items", group, "big")
        assert _kind(await ws.recv()) == "sync"
    lags: list[list[float]] = [[] for _ in readers]
    written: dict[int, float] = {}

    async def read(i: int, ws: StreamSocket) -> None:
        while True:
            frame = await ws.recv(timeout=20)
            lags[i].append(time.monotonic() - written[frame["event"]["data"]["n"]])
            if frame["event"]["data"]["n"] == COUNT - 1:
                return

    tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(readers)]
    for n in range(COUNT):
        written[n] = time.monotonic()
        body = {"op": "set", "data": {"label": "x" * FRAME_BYTES, "n": n}}
        response = await _post(server, f"/items/{group}/big", body)
        assert response.status_code == 200
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    for i, lag in enumerate(lags):
        assert len(lag) == COUNT, f"reader {i} missed frames"  # every change, in order, to every reader
        assert max(lag) < 2.0, f"reader {i} was held up {max(lag):.2f}s"

    async with httpx.AsyncClient(base_url=server.url) as http:
        for _ in range(100):
            streams = (await http.get("/__motia/streams")).json()
            if streams["connections"] == len(readers):
                break
            await asyncio.sleep(0.05)
    assert streams["connections"] == len(readers)  # the stalled one is gone
    assert "stream client dropped: client too slow" in server.logs()
    # Reading again, the stalled client finds the connection closed after what was already sent.
    received = await asyncio.to_thread(_until_eof, stalled, 15)
    assert received < COUNT * FRAME_BYTES
    stalled.close()
    for ws in readers:
        await ws.close()


def test_the_outbox_limit_is_configurable() -> None:
    # The server above is built with MOTIA_WS_OUTBOX_FRAMES set, as motia dev reads it (once, into
    # its settings); here the reading and the refusal of a bad value.
    assert Limits.from_env({}).ws_outbox_frames == Hub().max_outbox == 10_000
    assert Limits.from_env({ENV_OUTBOX: "25"}).ws_outbox_frames == 25
    for bad in ("0", "lots"):
        with pytest.raises(ConfigError, match=ENV_OUTBOX):
            Limits.from_env({ENV_OUTBOX: bad})

"""Live stream analytics on the real local server (``GET /__motia/streams/analytics``): real
WebSocket and SSE clients join, an API step writes, and the answer counts clients,
subscriptions, frames per second, delivery lag and refused joins per stream and per group,
behind the Workbench's trust boundary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project
from tests.support.ws import StreamSocket

pytestmark = pytest.mark.slow

FILES = {
    "streams/tally_an_stream.py": '''
        from motia_runtime import StreamConfig

        config = StreamConfig(name="tallyAn", schema={"type": "object"}, public=True)
    ''',
    "streams/vault_an_stream.py": '''
        from motia_runtime import StreamConfig

        # Only the group "mine" may be joined: every other join is refused.
        config = StreamConfig(name="vaultAn", schema={"type": "object"}, public=True,
                              can_access=lambda sub, auth: sub["groupId"] == "mine")
    ''',
    "functions/an_write_step.py": '''
        config = {"type": "api", "name": "AnWrite", "path": "/an", "method": "POST"}

        async def handler(req, ctx):
            b = req["body"]
            for n in range(b["count"]):
                await ctx.streams.tallyAn.set(b["group"], f"i{n}", {"n": n})
            return {"status": 200, "body": {}}
    ''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_project(tmp_path_factory.mktemp("analytics_app"), FILES)
    dev = InProcessServer(Path(root), tmp_path_factory.mktemp("analytics-data")).start()
    yield dev
    dev.stop()


def stream_of(body: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [s for s in body["streams"] if s["name"] == name]
    return found


def group_of(stream: dict[str, Any], group: str) -> dict[str, Any] | None:
    return next((g for g in stream["groups"] if g["group"] == group), None)


async def analytics_until(server: InProcessServer, done: Any, timeout_s: float = 10) -> dict[str, Any]:
    """Poll the answer until ``done(body)`` (the window is sampled once a second)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        while True:
            response = await client.get("/__motia/streams/analytics")
            assert response.status_code == 200, response.text
            body = response.json()
            if done(body):
                return body  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, body
            await asyncio.sleep(0.25)


async def test_clients_subscriptions_frames_and_lag_per_stream_and_group(server: InProcessServer) -> None:
    a, b = await StreamSocket.connect(server.ws_url), await StreamSocket.connect(server.ws_url)
    try:
        await a.join("tallyAn", "g1")
        await a.join("tallyAn", "g1", "i0")  # a second subscription of the same client and group
        await b.join("tallyAn", "g1")
        await b.join("tallyAn", "g2")
        for ws in (a, b):
            await ws.drain()
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.post("/an", json={"group": "g1", "count": 20})).status_code == 200
        await b.recv_until(lambda f: (f["event"].get("data") or {}).get("n") == 19)

        def seen(body: dict[str, Any]) -> bool:
            g1 = group_of(stream_of(body, "tallyAn"), "g1")
            return g1 is not None and g1["framesPerSecond"] > 0
        body = await analytics_until(server, seen)
        tally = stream_of(body, "tallyAn")
        g1, g2 = group_of(tally, "g1"), group_of(tally, "g2")
        assert g1 is not None and g2 is not None
        assert (g1["clients"], g1["subscriptions"]) == (2, 3)
        assert (g2["clients"], g2["subscriptions"]) == (1, 1)
        assert (tally["clients"], tally["subscriptions"]) == (2, 4)  # a client in two groups counts once
        # 20 changes, each to a and b once (a holds the group and an item: one frame, as Motia sends)
        assert g1["framesTotal"] == 40 and g1["deliveries"] == 20 and tally["framesTotal"] == 40
        assert g1["framesPerSecond"] == pytest.approx(40 / body["windowSeconds"], rel=0.01)
        assert 0 <= g1["lagP50Ms"] <= g1["lagP99Ms"] < 5000
        assert g2["framesTotal"] == 0 and g2["lagP50Ms"] is None
        assert body["workers"] == 1
    finally:
        await a.close()
        await b.close()
    # Closed sockets leave: the clients go, the counts stay.
    body = await analytics_until(server, lambda b: stream_of(b, "tallyAn")["clients"] == 0)
    assert group_of(stream_of(body, "tallyAn"), "g1")["framesTotal"] == 40  # type: ignore[index]


async def test_refused_joins_are_counted_per_group_for_sockets_and_sse(server: InProcessServer) -> None:
    ws = await StreamSocket.connect(server.ws_url)
    try:
        await ws.join("vaultAn", "theirs")
        await ws.join("vaultAn", "theirs")
        await ws.join("vaultAn", "mine")  # allowed: not a refusal
        await ws.join("noSuchStream", "x")  # not counted: any name would make a counter
        frames = await ws.drain()
        assert [f["event"]["event"]["data"]["code"] for f in frames
                if f["event"]["type"] == "event" and f["event"]["event"]["type"] == "error"] == [
            "STREAM_ACCESS_DENIED", "STREAM_ACCESS_DENIED", "STREAM_NOT_FOUND"]
        async with httpx.AsyncClient(base_url=server.url) as client:
            sse = await client.get("/__streams/vaultAn/theirs", headers={"accept": "text/event-stream"})
            assert sse.status_code == 403
        body = await analytics_until(server, lambda b: stream_of(b, "vaultAn")["refusedJoinsTotal"] == 3)
        vault = stream_of(body, "vaultAn")
        theirs, mine = group_of(vault, "theirs"), group_of(vault, "mine")
        assert theirs is not None and theirs["refusedJoinsTotal"] == 3 and theirs["clients"] == 0
        assert mine is not None and mine["refusedJoinsTotal"] == 0 and mine["clients"] == 1
        assert "noSuchStream" not in {s["name"] for s in body["streams"]}
    finally:
        await ws.close()


async def test_sse_clients_count_and_receive_frames(server: InProcessServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        async with client.stream("GET", "/__streams/tallyAn/sse1", headers={"accept": "text/event-stream"}) as sse:
            lines = sse.aiter_lines()
            async for line in lines:
                if line.startswith("data: ") and '"sync"' in line:
                    break
            assert (await client.post("/an", json={"group": "sse1", "count": 3})).status_code == 200

            def counted(body: dict[str, Any]) -> bool:
                g = group_of(stream_of(body, "tallyAn"), "sse1")
                return g is not None and g["framesTotal"] == 3
            body = await analytics_until(server, counted)
            g = group_of(stream_of(body, "tallyAn"), "sse1")
            assert g is not None and (g["clients"], g["subscriptions"]) == (1, 1)


async def test_analytics_answer_only_the_workbench_own_origin(server: InProcessServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        other = await client.get("/__motia/streams/analytics", headers={"origin": "http://evil.example"})
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
        rebound = await client.get("/__motia/streams/analytics", headers={"host": "evil.example:3000"})
        assert rebound.status_code == 403
        own = await client.get("/__motia/streams/analytics", headers={"origin": server.url})
        assert own.status_code == 200 and "access-control-allow-origin" not in own.headers

"""Durable stream history and item TTLs on the local host, over real sockets: sent events survive
a ``motia dev`` restart on the same SQLite file (a client resuming with ``since`` gets them, a
step reads them with ``history()``), a ``since`` outside the window gets a ``resync``, and an
item set with a TTL is pushed as a ``delete`` to a subscribed client when it expires."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from motia_runtime.limits import Limits
from tests.local.conftest import APP
from tests.support.dev_server import DevServer
from tests.support.inprocess import InProcessServer
from tests.support.ws import StreamSocket

WINDOW_MS = 300_000  # MOTIA_STREAM_REPLAY_S's default: the items stream sets no window of its own


def _kind(frame: dict[str, Any]) -> str:
    event = frame["event"]
    return event["type"] if event["type"] != "event" else event["event"]["type"]


async def _join(server: DevServer | InProcessServer, group: str, **extra: Any) -> list[dict[str, Any]]:
    ws = await StreamSocket.connect(server.ws_url)
    data = {"streamName": "items", "groupId": group, "subscriptionId": "s1", **extra}
    await ws.conn.send(json.dumps({"type": "join", "data": data}))
    frames = await ws.recv_until(lambda f: _kind(f) in ("sync", "error"))
    await ws.close()
    return frames


def _items(server: DevServer | InProcessServer, group: str, id: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/items/{group}/{id}", json=body, timeout=10)


async def test_a_client_resuming_after_a_restart_gets_the_events_it_missed(tmp_path: Path) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    server = DevServer(APP, tmp_path / "data").start()
    try:
        since = (await _join(server, group))[-1]["timestamp"]  # the client's last stamp, then it goes
        for n in (1, 2):
            sent = _items(server, group, "a", {"op": "send", "event": {"type": "tick", "data": {"n": n}}})
            assert sent.status_code == 202
    finally:
        server.stop()

    restarted = DevServer(APP, tmp_path / "data", port=server.port).start()  # same SQLite file
    try:
        _items(restarted, group, "a", {"op": "send", "event": {"type": "tick", "data": {"n": 3}}})
        frames = await _join(restarted, group, since=since)
        assert [_kind(f) for f in frames] == ["tick", "tick", "tick", "sync"]
        assert [f["event"]["event"]["data"]["n"] for f in frames[:3]] == [1, 2, 3]
        assert all(since < f["timestamp"] < frames[-1]["timestamp"] for f in frames[:3])
        # Resuming from the second event's stamp gets only the third.
        later = await _join(restarted, group, since=frames[1]["timestamp"])
        assert [f["event"]["event"]["data"]["n"] for f in later[:-1]] == [3]
        # A step reads the same history.
        events = _items(restarted, group, "a", {"op": "history", "since": since}).json()["events"]
        assert [(e["type"], e["data"]["n"], e["id"]) for e in events] == [("tick", 1, "a"), ("tick", 2, "a"),
                                                                         ("tick", 3, "a")]
        assert [e["eventId"] for e in events] == [f["eventId"] for f in frames[:3]]
        # An EventSource resuming with Last-Event-ID gets the same, over SSE.
        async with httpx.AsyncClient(timeout=10) as client, client.stream(
                "GET", f"{restarted.url}/__streams/items/{group}",
                headers={"Accept": "text/event-stream", "Last-Event-ID": str(since)}) as response:
            sse = []
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    sse.append(json.loads(line[6:]))
                    if sse[-1]["event"]["type"] == "sync":
                        break
        assert [f["eventId"] for f in sse[:-1]] == [f["eventId"] for f in frames[:3]]
        # Outside the window: an explicit resync, then the snapshot.
        stale = await _join(restarted, group, since=since - WINDOW_MS - 1)
        assert [_kind(f) for f in stale] == ["resync", "sync"]
        too_old = _items(restarted, group, "a", {"op": "history", "since": since - WINDOW_MS - 1})
        assert too_old.json() == {"events": None}
    finally:
        restarted.stop()


async def test_an_expired_item_is_pushed_as_a_delete_and_no_longer_read(server: InProcessServer) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    ws = await StreamSocket.connect(server.ws_url)
    try:
        await ws.join("items", group)
        await ws.recv_until(lambda f: _kind(f) == "sync")
        _items(server, group, "keep", {"op": "set", "data": {"label": "stays"}})
        started = time.monotonic()
        made = _items(server, group, "brief", {"op": "set", "data": {"label": "goes"}, "ttl": 1})
        assert made.status_code == 200 and made.json()["label"] == "goes"
        frames = await ws.recv_until(lambda f: f["event"]["type"] == "delete", timeout=10)
        took = time.monotonic() - started
        delete = frames[-1]
        assert delete["id"] == "brief" and delete["event"]["data"]["label"] == "goes"
        assert [f["event"]["type"] for f in frames] == ["create", "create", "delete"]
        assert 0.9 <= took < 5, took
        seen = _items(server, group, "brief", {"op": "get"}).json()
        assert seen["item"] is None and [i["id"] for i in seen["group"]] == ["keep"]
    finally:
        await ws.close()
    # A group whose every item expired is not listed. The TTL leaves room for the two requests on a
    # loaded machine (at 0.2 s, the item sometimes expired before the first listing read it); the
    # second listing comes right after the TTL, before the 0.5 s sweeper need have run, so it is the
    # read that leaves the expired item out.
    lone, ttl = f"g-{uuid.uuid4().hex[:8]}", 1.0
    _items(server, lone, "x", {"op": "set", "data": {"label": "short"}, "ttl": ttl})
    written = time.monotonic()  # the server set the expiry before it answered
    assert lone in _items(server, lone, "x", {"op": "groups"}).json()["groups"]
    time.sleep(max(0.0, written + ttl + 0.1 - time.monotonic()))
    assert lone not in _items(server, lone, "x", {"op": "groups"}).json()["groups"]


def test_a_ttl_that_is_not_a_positive_number_is_refused_at_the_call(server: InProcessServer) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    for bad in (0, -5, "10", True, -0.5):
        response = _items(server, group, "a", {"op": "set", "data": {"label": "x"}, "ttl": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["errors"][0]["field"] == "ttl"
    assert _items(server, group, "a", {"op": "get"}).json()["item"] is None  # nothing was written


async def test_two_hosts_in_one_process_keep_their_own_replay_window(
        server: InProcessServer, tmp_path_factory: Any) -> None:
    # MOTIA_STREAM_REPLAY_S is the host's (limits.py), not the process environment's: beside the
    # default host (300 s), one built with replay off answers the same rejoin with a resync.
    off = InProcessServer(APP, tmp_path_factory.mktemp("replay-off"), limits=Limits(stream_replay_s=0)).start()
    try:
        for host, expected in ((server, ["tick", "sync"]), (off, ["resync", "sync"])):
            group = f"g-{uuid.uuid4().hex[:8]}"
            since = (await _join(host, group))[-1]["timestamp"]
            sent = _items(host, group, "a", {"op": "send", "event": {"type": "tick", "data": {"n": 1}}})
            assert sent.status_code == 202
            assert [_kind(f) for f in await _join(host, group, since=since)] == expected
    finally:
        off.stop()

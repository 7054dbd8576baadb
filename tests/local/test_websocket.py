"""The stream protocol over a real WebSocket on loopback."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.support.dev_server import DevServer
from tests.support.ws import MotiaItemState, StreamSocket


def _group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


async def _post(server: DevServer, path: str, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        return await client.post(path, json=body)


async def test_item_and_group_joins_get_sync_then_changes_in_order(server: DevServer) -> None:
    group = _group()
    await _post(server, f"/items/{group}/a", {"op": "set", "data": {"label": "first"}})
    ws = await StreamSocket.connect(server.ws_url)
    await ws.join("items", group, "a")
    item_sync = await ws.recv()
    assert item_sync["event"] == {"type": "sync", "data": {"label": "first", "n": 0, "id": "a",
                                                           "_createdAt": item_sync["event"]["data"]["_createdAt"]}}
    assert (item_sync["streamName"], item_sync["groupId"], item_sync["id"]) == ("items", group, "a")
    await ws.join("items", group)
    group_sync = await ws.recv()
    assert group_sync["event"]["type"] == "sync" and [i["id"] for i in group_sync["event"]["data"]] == ["a"]
    assert "id" not in group_sync

    await _post(server, f"/items/{group}/b", {"op": "set", "data": {"label": "new"}})
    await _post(server, f"/items/{group}/a", {"op": "set", "data": {"label": "second"}})
    await _post(server, f"/items/{group}/a", {"op": "update"})
    await _post(server, f"/items/{group}/b", {"op": "delete"})
    await _post(server, f"/items/{group}/a", {"op": "send", "event": {"type": "ping", "data": {"x": 1}}})
    frames = await ws.recv_until(lambda f: f["event"]["type"] == "event")
    kinds = [(f.get("id"), f["event"]["type"]) for f in frames]
    assert kinds == [("b", "create"), ("a", "update"), ("a", "update"), ("b", "delete"), ("a", "event")]
    assert frames[2]["event"]["data"]["n"] == 1
    assert frames[3]["event"]["data"]["label"] == "new"  # delete carries the deleted item
    assert frames[4]["event"]["event"] == {"type": "ping", "data": {"x": 1}}
    stamps = [f["timestamp"] for f in [item_sync, group_sync, *frames]]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert [f["version"] for f in frames if f["id"] == "a" and f["event"]["type"] == "update"] == [2, 3]
    assert all("__motia" not in str(f) for f in frames)
    await ws.close()


async def test_same_millisecond_sets_all_reach_a_client_that_drops_stale_timestamps(server: DevServer) -> None:
    group = _group()
    ws = await StreamSocket.connect(server.ws_url)
    await ws.join("items", group, "hot")
    state = MotiaItemState()
    state.apply(await ws.recv())  # sync (null: nothing there yet)
    await _post(server, f"/items/{group}/hot", {"op": "burst", "count": 50})
    frames = await ws.recv_until(lambda f: f["event"]["data"]["n"] == 49)
    for frame in frames:
        state.apply(frame)
    assert len(frames) == 50
    assert len(state.applied) == 51  # the sync and every one of the 50 updates
    assert state.state["label"] == "burst 49"
    await ws.close()


async def test_an_item_subscriber_of_group_a_never_receives_group_b(server: DevServer) -> None:
    group_a, group_b = _group(), _group()
    ws = await StreamSocket.connect(server.ws_url)
    await ws.join("items", group_a, "same-id")
    await ws.recv()
    await _post(server, f"/items/{group_b}/same-id", {"op": "set", "data": {"label": "B's secret"}})
    await _post(server, f"/items/{group_b}/same-id", {"op": "send", "event": {"type": "b-only", "data": {}}})
    await _post(server, f"/items/{group_a}/same-id", {"op": "set", "data": {"label": "A's"}})
    frames = await ws.drain()
    assert [(f["groupId"], f["event"]["data"]["label"]) for f in frames] == [(group_a, "A's")]
    await ws.close()


async def test_a_join_while_writes_are_under_way_loses_none(server: DevServer) -> None:
    group = _group()
    writer_done = asyncio.Event()

    async def writer() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            for n in range(60):
                await client.post(f"/items/{group}/w{n % 6}", json={"op": "set", "data": {"label": "x", "n": n}})
        writer_done.set()

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    ws = await StreamSocket.connect(server.ws_url)
    await ws.join("items", group)
    frames = [await ws.recv()]
    await writer_done.wait()
    await task
    frames += await ws.drain(0.5)
    # Rebuild the group as Motia's group client does; it must end equal to what the server holds.
    sync = frames[0]
    assert sync["event"]["type"] == "sync"
    items = {i["id"]: i for i in sync["event"]["data"]}
    last = {i["id"]: sync["timestamp"] for i in sync["event"]["data"]}
    for f in frames[1:]:
        data = f["event"]["data"]
        if f["timestamp"] <= last.get(data["id"], 0):
            continue
        last[data["id"]] = f["timestamp"]
        items[data["id"]] = data
    async with httpx.AsyncClient(base_url=server.url) as client:
        truth = (await client.get(f"/__motia/streams/items/groups/{group}")).json()["items"]
    assert {k: v["n"] for k, v in items.items()} == {i["id"]: i["n"] for i in truth}
    assert sorted(i["n"] for i in truth) == list(range(54, 60))
    await ws.close()


async def test_malformed_frames_get_error_events_and_the_connection_stays_up(server: DevServer) -> None:
    group = _group()
    ws = await StreamSocket.connect(server.ws_url)
    await ws.conn.send("this is not json")
    error = await ws.recv()
    assert error["event"]["type"] == "event"
    assert error["event"]["event"]["type"] == "error"
    assert error["event"]["event"]["data"]["code"] == "INVALID_MESSAGE"
    await ws.conn.send('{"type": "join", "data": {"streamName": "items"}}')
    missing = await ws.recv()
    assert missing["event"]["event"]["data"]["code"] == "INVALID_MESSAGE"
    assert "groupId" in missing["event"]["event"]["data"]["message"]
    assert "subscriptionId" in missing["event"]["event"]["data"]["message"]
    await ws.join("no-such-stream", group)
    unknown = await ws.recv()
    assert unknown["event"]["event"]["data"]["code"] == "STREAM_NOT_FOUND"
    assert unknown["streamName"] == "no-such-stream"
    # The connection still works, and the refused joins created no subscription.
    await ws.join("items", group, "ok")
    assert (await ws.recv())["event"]["type"] == "sync"
    await _post(server, f"/items/{group}/ok", {"op": "set", "data": {"label": "still here"}})
    assert (await ws.recv())["event"]["data"]["label"] == "still here"
    assert await ws.drain() == []
    await ws.close()
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/__motia/health")).status_code == 200


async def test_leave_stops_delivery(server: DevServer) -> None:
    group = _group()
    ws = await StreamSocket.connect(server.ws_url)
    sub = await ws.join("items", group)
    await ws.recv()
    await ws.leave("items", group, sub)
    await asyncio.sleep(0.05)
    await _post(server, f"/items/{group}/a", {"op": "set", "data": {"label": "unseen"}})
    assert await ws.drain() == []
    await ws.close()


async def test_subprotocol_offered_by_motia_clients_is_echoed(server: DevServer) -> None:
    ws = await StreamSocket.connect(server.ws_url, subprotocols=["Authorization", "some-token"])
    assert ws.conn.subprotocol == "Authorization"
    await ws.close()

"""The stream WebSocket on the harness: authentication, can_access, errors, fan-out and 410 Gone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.testing import CloudSim, WsClient

FILES = {
    "streams/auth.py": '''
        def authenticate(request):
            token = request["authToken"]
            if token is None:
                return None  # anonymous
            if token.startswith("user-"):
                return {"user": token[len("user-"):]}
            raise PermissionError("unknown token")
    ''',
    "streams/ws_case_private_stream.py": '''
        config = {"name": "inbox", "schema": {"type": "object"},
                  "canAccess": lambda sub, auth: auth is not None and sub["groupId"] == auth["user"]}
    ''',
    "streams/ws_case_public_stream.py": '''
        config = {"name": "board", "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
                  "public": True}
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("ws", FILES)) as sim:
        yield sim


def subscriptions(sim: CloudSim, client: WsClient) -> list[str]:
    table = sim.resources.tables["connections-table"]
    rows = sim.client("dynamodb").query(TableName=table, KeyConditionExpression="pk = :pk",
                                        ExpressionAttributeValues={":pk": {"S": client.connection_id}})["Items"]
    return sorted(r["sk"]["S"] for r in rows)


def write(sim: CloudSim, stream: str, group: str, id: str, data: dict[str, Any]) -> None:
    sim.run(lambda runtime: runtime.streams[stream].set(group, id, data))


def test_authenticate_runs_at_connect_and_echoes_the_subprotocol(sim: CloudSim) -> None:
    ann = sim.connect(token="user-ann")
    assert ann.accepted and ann.subprotocol == "Authorization"
    refused = sim.connect(token="stolen")
    assert (refused.accepted, refused.status_code) == (False, 401)
    by_query = sim.connect(query={"authToken": "user-bob"})
    assert by_query.accepted and by_query.subprotocol is None
    assert sim.connect().accepted  # no token: anonymous


def test_can_access_refuses_a_join_without_subscribing(sim: CloudSim) -> None:
    ann, bob = sim.connect(token="user-ann"), sim.connect(query={"authToken": "user-bob"})
    ann.join("inbox", "bob")
    assert ann.errors() == [{"code": "STREAM_ACCESS_DENIED", "message": "Access denied"}]
    assert ann.frames[-1]["streamName"] == "inbox" and ann.frames[-1]["groupId"] == "bob"
    assert subscriptions(sim, ann) == ["#connection"]
    bob.join("inbox", "bob")
    assert bob.errors() == [] and bob.frames[-1]["event"] == {"type": "sync", "data": []}
    write(sim, "inbox", "bob", "m1", {"text": "hi bob"})
    sim.pump_streams()
    assert [f["event"]["type"] for f in bob.frames] == ["sync", "create"]
    assert [f["event"]["type"] for f in ann.frames] == ["event"]  # only the refusal


def test_bad_frames_get_an_error_frame(sim: CloudSim) -> None:
    client = sim.connect()
    client.send_raw("this is not json")
    client.send_raw('{"type": "subscribe", "data": {}}')
    client.send_raw('{"type": "join", "data": {"streamName": "board"}}')
    client.join("nope", "g")
    codes = [e["code"] for e in client.errors()]
    assert codes == ["INVALID_MESSAGE", "INVALID_MESSAGE", "INVALID_MESSAGE", "STREAM_NOT_FOUND"]
    assert "not JSON" in client.errors()[0]["message"]
    assert subscriptions(sim, client) == ["#connection"]


def test_changes_and_events_fan_out_and_gone_connections_are_removed(sim: CloudSim) -> None:
    a, b, c = sim.connect(), sim.connect(), sim.connect()
    for client in (a, b, c):
        client.join("board", "g")
    a.join("board", "g", "note")  # a holds both the group and the item subscription
    sim.gone(b.connection_id)  # b vanished without a $disconnect
    write(sim, "board", "g", "note", {"text": "one"})
    sim.run(lambda runtime: runtime.streams["board"].send({"groupId": "g", "id": "note"},
                                                         {"type": "typing", "data": {"who": "ann"}}))
    sim.pump_streams()
    assert sim.dropped_stream_records == []
    assert [f["event"]["type"] for f in a.frames] == ["sync", "sync", "create", "event"]  # one copy each
    assert a.frames[-1]["event"] == {"type": "event", "event": {"type": "typing", "data": {"who": "ann"}}}
    assert c.frames[1:] == a.frames[2:]
    assert [f["event"]["type"] for f in b.frames] == ["sync"]
    assert subscriptions(sim, b) == []  # the 410 removed the connection and its subscription
    write(sim, "board", "g", "note", {"text": "two"})
    sim.pump_streams()
    assert a.frames[-1]["event"]["data"]["text"] == "two" and c.frames[-1] == a.frames[-1]


def test_leave_and_disconnect_stop_the_frames(sim: CloudSim) -> None:
    a, b = sim.connect(), sim.connect()
    sub = a.join("board", "g")
    b.join("board", "g")
    a.leave(sub)
    b.disconnect()
    assert subscriptions(sim, a) == ["#connection"] and subscriptions(sim, b) == []
    write(sim, "board", "g", "x", {"text": "hi"})
    sim.pump_streams()
    assert [f["event"]["type"] for f in a.frames] == ["sync"]
    assert [f["event"]["type"] for f in b.frames] == ["sync"]
    assert sim.dropped_stream_records == []


def test_a_delete_reaches_subscribers_with_the_deleted_item(sim: CloudSim) -> None:
    client = sim.connect()
    client.join("board", "g", "x")
    write(sim, "board", "g", "x", {"text": "bye"})
    sim.run(lambda runtime: runtime.streams["board"].delete("g", "x"))
    sim.pump_streams()
    created, deleted = client.frames[1], client.frames[2]
    assert deleted["event"] == {"type": "delete", "data": created["event"]["data"]}
    assert deleted["timestamp"] > created["timestamp"]

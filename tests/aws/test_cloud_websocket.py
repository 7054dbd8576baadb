"""The stream WebSocket on the harness: authentication, can_access, errors, fan-out and 410 Gone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.project import load_project
from motia_runtime.testing import CloudSim, WsClient
from motia_runtime.tools.template import build_template

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


def test_the_join_beyond_the_cap_gets_an_error_and_bounds_the_connections_rows(
        make_project: Callable[[str, dict[str, str]], Path]) -> None:
    root = make_project("ws_cap", FILES)
    template = build_template(load_project(root))
    # MOTIA_WS_MAX_SUBSCRIPTIONS on the WebSocket function, as a deployment would set it.
    template["Resources"]["WebSocketFunction"]["Properties"]["Environment"] = {
        "Variables": {"MOTIA_WS_MAX_SUBSCRIPTIONS": "2"}}
    with CloudSim(root, template=template) as sim:
        client, other = sim.connect(), sim.connect()
        first = client.join("board", "g1")
        client.join("board", "g2")
        client.join("board", "g3")
        assert client.errors() == [{"code": "SUBSCRIPTION_LIMIT", "message": client.errors()[0]["message"]}]
        assert "2 subscriptions" in client.errors()[0]["message"] and client.frames[-1]["groupId"] == "g3"
        assert len(subscriptions(sim, client)) == 3 and f"sub#{first}" in subscriptions(sim, client)
        client.join("board", "g4", subscription_id=first)  # a subscription id it holds: replaced, not counted
        assert [f["event"]["type"] for f in client.frames] == ["sync", "sync", "event", "sync"]
        client.leave(first)
        client.join("board", "g5")  # leaving freed a place
        assert len(client.errors()) == 1 and client.frames[-1]["event"]["type"] == "sync"
        assert len(subscriptions(sim, client)) == 3  # the connection and its 2 subscriptions, never more
        for _ in range(3):
            other.join("board", "x")  # the cap is per connection
        assert other.errors() == [{"code": "SUBSCRIPTION_LIMIT", "message": other.errors()[0]["message"]}]
        write(sim, "board", "g3", "n", {"text": "not subscribed"})
        write(sim, "board", "g5", "n", {"text": "subscribed"})
        sim.pump_streams()
        assert [(f["groupId"], f["event"]["type"]) for f in client.frames[-1:]] == [("g5", "create")]


def emf_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def emf_value(line: dict[str, Any], name: str) -> Any:
    return line[name][0] if isinstance(line[name], list) else line[name]  # EMF: one value or a list


def test_the_fanout_reports_emf_metrics(sim: CloudSim, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = sim.connect(), sim.connect()
    a.join("board", "g")
    b.join("board", "g")
    sim.gone(b.connection_id)
    capsys.readouterr()
    write(sim, "board", "g", "note", {"text": "one"})
    sim.pump_streams()
    lines = emf_lines(capsys.readouterr().out)
    assert lines, "no EMF line"
    [emf] = [line for line in lines if "Stream" not in line]  # the batch's line; then one per stream
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Motia"
    names = {m["Name"] for m in directive["Metrics"]}
    assert {"FramesPushed", "GoneConnections", "FanoutFailedRecords", "FanoutLatency"} <= names
    value = {name: (emf[name][0] if isinstance(emf[name], list) else emf[name]) for name in names}  # EMF: one or a list
    assert value["FramesPushed"] == 1 and value["GoneConnections"] == 1 and value["FanoutFailedRecords"] == 0
    assert 0 <= value["FanoutLatency"] < 60_000


def test_the_fanout_reports_frames_and_latency_per_stream(sim: CloudSim, capsys: pytest.CaptureFixture[str]) -> None:
    board, inbox = sim.connect(), sim.connect("user-ann")
    board.join("board", "g")
    inbox.join("inbox", "ann")
    also = sim.connect()
    also.join("board", "g")
    capsys.readouterr()
    write(sim, "board", "g", "n1", {"text": "one"})
    write(sim, "inbox", "ann", "m1", {"text": "hi"})
    sim.pump_streams()
    per_stream = [line for line in emf_lines(capsys.readouterr().out) if "Stream" in line]
    frames: dict[str, int] = {}
    for line in per_stream:
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert any("Stream" in dims for dims in directive["Dimensions"])
        assert {m["Name"] for m in directive["Metrics"]} == {"FramesPushed", "FanoutLatency"}
        assert "Group" not in line and "groupId" not in line  # groups are not a dimension (billed per value)
        frames[line["Stream"]] = frames.get(line["Stream"], 0) + emf_value(line, "FramesPushed")
        assert 0 <= emf_value(line, "FanoutLatency") < 60_000
    assert frames == {"board": 2, "inbox": 1}


def test_refused_joins_and_connections_are_emf_metrics(sim: CloudSim, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    refused = sim.connect("bogus-token")
    assert refused.status_code == 401
    client = sim.connect("user-ann")
    client.join("inbox", "bob")  # can_access: only one's own group
    client.join("inbox", "ann")  # allowed: not counted
    assert [e["code"] for e in client.errors()] == ["STREAM_ACCESS_DENIED"]
    lines = emf_lines(capsys.readouterr().out)
    joins = [line for line in lines if "RefusedJoins" in line]
    connections = [line for line in lines if "RefusedConnections" in line]
    assert [(line["Stream"], emf_value(line, "RefusedJoins")) for line in joins] == [("inbox", 1)]
    assert [emf_value(line, "RefusedConnections") for line in connections] == [1]

"""Fault tests of the AWS push path on the harness: nothing lost, nothing twice, every failure told apart.

* A rejoin with ``since`` gets the events sent while the client was away (from their records),
  then the sync; past the replay window, a ``resync`` event instead of silence.
* A client that reconnects during a burst of writes ends with the state of one that never left.
* 429 from API Gateway: retried by the pusher, then the record is reported failed, Lambda hands
  the batch over again, and the retry reaches the throttled client without repeating a single
  frame to the others (the fan-out's ledger).
* 413: logged, not retried, the client told with a ``FRAME_TOO_LARGE`` error event.

(Handler failures retried then dead-lettered: tests/aws/test_cloud_queues.py.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.adapters.aws.streams import DynamoDBStreamStore
from motia_runtime.client.frames import parse_server_frame
from motia_runtime.client.state import GroupState
from motia_runtime.errors import StreamError
from motia_runtime.testing import CloudSim, WsClient

FILES = {
    "streams/rel_case_board_stream.py": '''
        config = {"name": "board", "schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
                  "public": True}
    ''',
}
WINDOW_MS = 300_000


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("rel", FILES)) as sim:
        yield sim


def write(sim: CloudSim, group: str, id: str, n: int) -> None:
    sim.run(lambda runtime: runtime.streams["board"].set(group, id, {"n": n}))


def send(sim: CloudSim, group: str, n: int, id: str | None = None) -> None:
    channel = {"groupId": group, **({"id": id} if id else {})}
    sim.run(lambda runtime: runtime.streams["board"].send(channel, {"type": "tick", "data": {"n": n}}))


def kinds(client: WsClient) -> list[str]:
    return [f["event"]["type"] if f["event"]["type"] != "event" else f["event"]["event"]["type"] for f in client.frames]


def ticks(client: WsClient) -> list[int]:
    return [f["event"]["event"]["data"]["n"] for f in client.frames
            if f["event"]["type"] == "event" and f["event"]["event"]["type"] == "tick"]


def test_a_rejoin_with_since_replays_what_was_missed_and_past_the_window_resyncs(sim: CloudSim) -> None:
    first = sim.connect()
    first.join("board", "g")
    since = first.frames[-1]["timestamp"]  # the sync's stamp: the last thing this client saw
    first.disconnect()
    send(sim, "g", 1)
    send(sim, "g", 2, id="note")
    write(sim, "g", "note", 7)
    send(sim, "g", 3)

    group = sim.connect()
    group.join("board", "g", since=since)
    assert kinds(group) == ["tick", "tick", "tick", "sync"]  # the events missed, in order, then the state
    assert ticks(group) == [1, 2, 3]
    assert len({f["eventId"] for f in group.frames[:3]}) == 3
    assert group.frames[-1]["event"]["data"][0]["n"] == 7

    item = sim.connect()
    item.join("board", "g", "note", since=since)
    assert ticks(item) == [2] and item.frames[-1]["event"]["type"] == "sync"  # only what the item room got

    late = sim.connect()
    late.join("board", "g", since=since - WINDOW_MS - 60_000)
    assert kinds(late) == ["resync", "sync"]
    resync = late.frames[0]["event"]["event"]["data"]
    assert resync == {"reason": "outside the replay window", "since": since - WINDOW_MS - 60_000}

    motia = sim.connect()
    motia.join("board", "g")  # Motia's clients send no since: nothing changes for them
    assert kinds(motia) == ["sync"]


def test_a_client_that_reconnects_during_a_burst_ends_in_the_same_state(sim: CloudSim) -> None:
    state = GroupState()
    seen_events: list[str] = []

    def apply(client: WsClient, start: int = 0) -> None:
        for raw in client.frames[start:]:
            frame = parse_server_frame(json.dumps(raw))
            assert frame is not None
            if frame.kind == "event":
                if frame.event_id not in seen_events:  # as our client does
                    seen_events.append(frame.event_id or "")
            else:
                state.apply(frame)

    first = sim.connect()
    first.join("board", "g")
    for n in range(10):
        write(sim, "g", f"i{n % 4}", n)
        send(sim, "g", n)
        if n % 3 == 0:
            sim.pump_streams()
    sim.pump_streams()
    apply(first)
    since = max(f["timestamp"] for f in first.frames)
    sim.gone(first.connection_id)  # dropped without a $disconnect, mid-burst
    for n in range(10, 25):
        write(sim, "g", f"i{n % 4}", n)
        if n % 2:
            sim.run(lambda runtime, n=n: runtime.streams["board"].delete("g", f"i{n % 4}"))
        send(sim, "g", n)
        if n == 17:
            sim.pump_streams()  # some of the burst is pushed (to nobody) before the rejoin
    second = sim.connect()
    second.join("board", "g", since=since)
    for n in range(25, 30):
        write(sim, "g", f"i{n % 4}", n)
        send(sim, "g", n)
    sim.pump_streams()
    state.rejoin()
    apply(second)
    server = sim.run(lambda runtime: runtime.streams["board"].get_group("g"))
    assert [(i["id"], i["n"]) for i in state.items] == [(i["id"], i["n"]) for i in server]
    assert len(seen_events) == 30  # every event once: live, replayed, or both and dropped by eventId


def test_throttling_is_retried_and_the_retry_repeats_nothing(sim: CloudSim) -> None:
    a, b = sim.connect(), sim.connect()
    a.join("board", "g")
    b.join("board", "g")
    sim.recorder.fail(b.connection_id, 429, times=4)  # the pusher's 3 retries are not enough
    for n in range(3):
        write(sim, "g", f"x{n}", n)
    send(sim, "g", 99)
    sim.pump_streams()  # b is throttled on its first frame: the batch is reported failed from there
    assert kinds(a) == ["sync", "create", "create", "create", "tick"]
    assert kinds(b) == ["sync"]
    assert sim.recorder.attempts[b.connection_id] == 1 + 4  # the sync, then 4 tries of the first change
    sim.pump_streams()  # Lambda's retry of the batch, from the failed record
    assert kinds(a) == ["sync", "create", "create", "create", "tick"]  # nothing twice
    assert kinds(b) == ["sync", "create", "create", "create", "tick"]  # nothing lost, in order
    assert b.frames[1:] == a.frames[1:]
    assert sim.dropped_stream_records == []


def test_a_frame_too_large_is_reported_to_the_client_and_not_retried(sim: CloudSim,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    a, b = sim.connect(), sim.connect()
    a.join("board", "g")
    b.join("board", "g")
    sim.recorder.fail(a.connection_id, 413)
    write(sim, "g", "big", 1)
    sim.pump_streams()
    attempts = sim.recorder.attempts[a.connection_id]
    assert kinds(b) == ["sync", "create"]
    assert kinds(a) == ["sync", "error"]
    error = a.frames[-1]["event"]["event"]["data"]
    assert error["code"] == "FRAME_TOO_LARGE" and "board/g/big" in error["message"]
    sim.pump_streams()
    assert sim.recorder.attempts[a.connection_id] == attempts  # not retried
    write(sim, "g", "big", 2)
    sim.pump_streams()
    assert kinds(a) == ["sync", "error", "update"]  # the next change gets through
    assert any(r.levelname == "ERROR" and "too large" in r.getMessage() and "not retried" in r.getMessage()
               and getattr(r, "stream", None) == "board" for r in caplog.records)


def test_a_sync_too_large_for_api_gateway_is_an_error_event(sim: CloudSim) -> None:
    for n in range(3):
        sim.run(lambda runtime, n=n: runtime.streams["board"].store.set("board", "huge", f"i{n}",
                                                                        {"n": n, "pad": "x" * 60_000}))
    client = sim.connect()
    client.join("board", "huge")
    assert kinds(client) == ["error"]
    assert client.errors()[0]["code"] == "FRAME_TOO_LARGE"


def test_a_join_that_fails_on_the_server_is_answered_and_leaves_no_subscription(
        sim: CloudSim, monkeypatch: pytest.MonkeyPatch) -> None:
    async def unavailable(*_: Any) -> Any:
        raise StreamError("DynamoDB query failed: ProvisionedThroughputExceededException")

    monkeypatch.setattr(DynamoDBStreamStore, "get_group", unavailable)
    client = sim.connect()
    assert client.send_raw(json.dumps({"type": "join", "data": {"streamName": "board", "groupId": "g",
                                                                "subscriptionId": "s1"}})) == {"statusCode": 200}
    assert client.errors() == [{"code": "INTERNAL_ERROR", "message": "The join failed on the server; try again"}]
    table = sim.resources.tables["connections-table"]
    rows = sim.client("dynamodb").query(TableName=table, KeyConditionExpression="pk = :pk",
                                        ExpressionAttributeValues={":pk": {"S": client.connection_id}})["Items"]
    assert [r["sk"]["S"] for r in rows] == ["#connection"]

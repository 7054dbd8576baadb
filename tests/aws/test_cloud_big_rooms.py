"""The big-room fan-out on the harness: a room past ``FanoutBigRoom`` joins is sharded in the
subscriptions table, its changes leave the stream consumer as per-shard messages on the SQS FIFO
delivery queue, and the delivery function posts them: every subscriber once, in order, across
redelivery, throttling (429), a Lambda timeout, gone (410) and slow clients.

The template's settings are lowered (a room is big from its 3rd join, 4 shards) so a dozen
clients exercise the path that 100,000 would (docs/scaling.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.hosts.aws import delivery
from motia_runtime.testing import CloudSim, WsClient

FILES = {
    "streams/big_case_board_stream.py": '''
        config = {"name": "board", "schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
                  "public": True}
    ''',
}
SHARDS = 4


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("big", FILES), parameters={"FanoutBigRoom": "3", "FanoutShards": str(SHARDS)}) as sim:
        yield sim


def write(sim: CloudSim, group: str, id: str, n: int) -> None:
    sim.run(lambda runtime: runtime.streams["board"].set(group, id, {"n": n}))


def send(sim: CloudSim, group: str, n: int) -> None:
    sim.run(lambda runtime: runtime.streams["board"].send({"groupId": group}, {"type": "tick", "data": {"n": n}}))


def changes(client: WsClient) -> list[tuple[str, Any]]:
    """What a client got after its sync: (type, n) per frame, in order."""
    out = []
    for f in client.frames[1:]:
        event = f["event"]
        if event["type"] == "event":
            out.append((event["event"]["type"], event["event"]["data"].get("n")))
        else:
            out.append((event["type"], event["data"]["n"]))
    return out


def room_shards(sim: CloudSim) -> Counter[str]:
    rows = sim.client("dynamodb").scan(TableName=sim.resources.tables["connections-table"])["Items"]
    return Counter(r["roomShard"]["S"] for r in rows if r["sk"]["S"].startswith("sub#"))


def joined(sim: CloudSim, n: int, group: str = "g") -> list[WsClient]:
    clients = [sim.connect() for _ in range(n)]
    for c in clients:
        c.join("board", group)
    return clients


def queued(sim: CloudSim) -> int:
    queue = sim.resources.delivery_queue
    assert queue is not None
    attributes = sim.client("sqs").get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_big_room_is_sharded_and_served_through_the_delivery_queue(sim: CloudSim) -> None:
    clients = joined(sim, 12)
    small = joined(sim, 2, group="h")
    shards = room_shards(sim)
    big_keys = {key: count for key, count in shards.items() if key.startswith("board#g#")}
    # The first two joins were made while the room was small (shard 0); from the third, spread
    # over shards 1..4.
    assert big_keys["board#g#0"] == 2 and len(big_keys) > 2 and max(big_keys.values()) < 10
    assert set(big_keys) <= {f"board#g#{i}" for i in range(SHARDS + 1)}
    assert set(k for k in shards if k.startswith("board#h#")) == {"board#h#0"}  # small: one shard

    write(sim, "g", "x", 1)
    sim.pump_streams()
    assert all(changes(c) == [] for c in clients)  # not posted by the stream consumer ...
    assert queued(sim) == SHARDS  # ... but handed over as one message per shard
    assert sim.deliver_big_rooms() == SHARDS
    assert all(changes(c) == [("create", 1)] for c in clients)

    write(sim, "h", "y", 2)
    sim.pump_streams()  # a small room keeps the one hop
    assert all(changes(c) == [("create", 2)] for c in small)
    assert queued(sim) == 0


def test_frames_arrive_in_order_once_and_a_redelivered_message_repeats_nothing(sim: CloudSim) -> None:
    clients = joined(sim, 9)
    for n in range(5):
        write(sim, "g", f"x{n % 2}", n)
        send(sim, "g", 100 + n)
    sim.pump_streams()
    queue = sim.resources.delivery_queue
    assert queue is not None
    sqs = sim.client("sqs")
    # Keep a copy of the work to hand it over again (a stream retry that repacked its batch, or
    # a message SQS delivered twice): the worker's ledger must skip all of it.
    copies = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                 MessageSystemAttributeNames=["All"])["Messages"]
    assert len(copies) == SHARDS
    assert sim.deliver_big_rooms() == SHARDS
    expected = [item for n in range(5) for item in (("create" if n < 2 else "update", n), ("tick", 100 + n))]
    assert all(changes(c) == expected for c in clients)
    for m in copies:
        sqs.send_message(QueueUrl=queue.url, MessageBody=m["Body"], MessageGroupId=m["Attributes"]["MessageGroupId"],
                         MessageDeduplicationId=f"again-{m['MessageId']}")
    assert sim.deliver_big_rooms() == SHARDS
    assert all(changes(c) == expected for c in clients)  # nothing twice


def test_a_throttled_client_gets_its_frames_on_the_retry_in_order_and_the_others_once(sim: CloudSim) -> None:
    clients = joined(sim, 8)
    slow = clients[5]
    sim.recorder.fail(slow.connection_id, 429, times=4)  # past the pusher's 3 retries
    for n in range(3):
        write(sim, "g", f"x{n}", n)
    sim.pump_streams()
    sim.deliver_big_rooms()
    assert changes(slow) == []
    others = [c for c in clients if c is not slow]
    assert all(changes(c) == [("create", 0), ("create", 1), ("create", 2)] for c in others)  # not held up
    assert queued(sim) == 1  # the slow client's shard, back for a retry
    assert sim.deliver_big_rooms() == 1
    assert changes(slow) == [("create", 0), ("create", 1), ("create", 2)]
    assert all(changes(c) == [("create", 0), ("create", 1), ("create", 2)] for c in others)
    assert queued(sim) == 0


def test_a_timeout_mid_message_gives_the_rest_back_and_the_retry_posts_only_that(
        sim: CloudSim, monkeypatch: pytest.MonkeyPatch) -> None:
    clients = joined(sim, 8)
    slow = clients[2]
    for n in range(3):
        write(sim, "g", f"x{n}", n)
    sim.pump_streams()
    # The harness's Lambda context has 30 s left: stop posting 0.1 s in. The slow client's first
    # post is throttled three times (at least 0.175 s of the pusher's back-off), so its later frames
    # miss the cut (on a busy machine others may too: what was posted must be a prefix, once).
    monkeypatch.setattr(delivery, "TIMEOUT_MARGIN_S", 29.9)
    sim.recorder.fail(slow.connection_id, 429, times=3)
    sim.deliver_big_rooms()
    expected = [("create", 0), ("create", 1), ("create", 2)]
    assert all(changes(c) == expected[:len(changes(c))] for c in clients)
    assert len(changes(slow)) < 3
    assert queued(sim) >= 1  # the slow client's shard (and any other that missed the cut) is given back
    monkeypatch.setattr(delivery, "TIMEOUT_MARGIN_S", 5.0)
    sim.deliver_big_rooms()
    assert all(changes(c) == expected for c in clients)
    assert queued(sim) == 0


def test_gone_connections_of_a_big_room_are_removed(sim: CloudSim) -> None:
    clients = joined(sim, 6)
    gone = clients[3]
    sim.gone(gone.connection_id)
    write(sim, "g", "x", 1)
    sim.run_until_idle()
    assert all(changes(c) == [("create", 1)] for c in clients if c is not gone)
    rows = sim.client("dynamodb").scan(TableName=sim.resources.tables["connections-table"])["Items"]
    assert gone.connection_id not in {r["pk"]["S"] for r in rows}
    assert queued(sim) == 0


def test_a_client_that_stays_behind_is_disconnected_so_its_shard_moves_on(sim: CloudSim) -> None:
    clients = joined(sim, 6)
    stuck = clients[1]
    sim.recorder.fail(stuck.connection_id, 429, times=1000)
    write(sim, "g", "x", 1)
    sim.pump_streams()
    for _ in range(delivery.DEFAULT_ATTEMPTS):
        sim.deliver_big_rooms()
    assert queued(sim) == 0
    assert stuck.connection_id not in sim.recorder.open_ids  # closed: it reconnects and resyncs
    write(sim, "g", "x", 2)
    sim.run_until_idle()
    assert all(changes(c) == [("create", 1), ("update", 2)] for c in clients if c is not stuck)
    assert changes(stuck) == []

"""DynamoDBStreamStore against moto: writes, stamps, send() records and what the table's stream says."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config

from motia_runtime.adapters.aws import DynamoDBStreamStore
from motia_runtime.adapters.aws.streams import EVENT_TTL_S, change_from_record
from motia_runtime.clock import MonotonicClock
from motia_runtime.errors import StreamError
from motia_runtime.testing.resources import Resources
from motia_runtime.update_ops import apply_ops

REGION = "us-east-1"



@pytest.fixture
def table(resources: Resources) -> str:
    return resources.tables["streams-table"]


@pytest.fixture
def store(table: str, ddb: Any) -> DynamoDBStreamStore:
    return DynamoDBStreamStore(table, client=ddb)


def stream_records(resources: Resources) -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled"))
    arn = resources.stream_arns["streams-table"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


async def test_set_creates_then_updates_with_one_write_each(store: DynamoDBStreamStore, ddb: Any,
                                                             count_calls: Any) -> None:
    calls = count_calls(ddb)
    created = await store.set("chat", "g1", "m", {"text": "hi"})
    updated = await store.set("chat", "g1", "m", {"text": "hi there"})
    assert calls == ["UpdateItem", "UpdateItem"]  # no read before the write
    assert (created.type, created.version) == ("create", 1)
    assert (updated.type, updated.version) == ("update", 2)
    assert updated.timestamp > created.timestamp
    assert created.data == {"text": "hi", "id": "m", "_createdAt": created.timestamp}
    assert updated.data == {"text": "hi there", "id": "m", "_createdAt": created.timestamp}
    assert await store.get("chat", "g1", "m") == updated.data
    assert await store.get("chat", "other", "m") is None


async def test_stamps_strictly_increase_even_within_one_millisecond(store: DynamoDBStreamStore) -> None:
    stamps = [(await store.set("s", "g", "i", {"n": n})).timestamp for n in range(30)]
    assert all(b > a for a, b in itertools.pairwise(stamps))


async def test_a_writer_whose_clock_is_behind_stamps_above_the_stored_item(table: str, ddb: Any,
                                                                           count_calls: Any) -> None:
    ahead = DynamoDBStreamStore(table, client=ddb, clock=MonotonicClock(floor=int(time.time() * 1000) + 60_000))
    behind = DynamoDBStreamStore(table, client=ddb)  # another Lambda, its clock a minute behind
    first = await ahead.set("s", "g", "i", {"n": 1})
    calls = count_calls(ddb)
    second = await behind.set("s", "g", "i", {"n": 2})
    assert second.timestamp > first.timestamp
    assert (second.type, second.version) == ("update", 2)
    assert calls == ["UpdateItem", "UpdateItem"]  # refused once, written again above the stored stamp
    later = await behind.set("s", "g", "i", {"n": 3})
    assert later.timestamp > second.timestamp  # the clock caught up for good


async def test_get_group_orders_by_creation_and_leaves_out_events(store: DynamoDBStreamStore, ddb: Any) -> None:
    await store.set("s", "g", "b", {"n": 1})
    await store.set("s", "g", "a", {"n": 2})
    await store.set("s", "g", "~~after-the-events", {"n": 5})  # sorts after the send() records
    for _ in range(3):
        await store.send("s", "g", None, {"type": "typing", "data": {}})
    await store.set("s", "g", "b", {"n": 3})
    await store.set("s", "other", "c", {"n": 4})
    scanned: list[int] = []
    ddb.meta.events.register("after-call.dynamodb.Query", lambda parsed, **_: scanned.append(parsed["ScannedCount"]))
    group = await store.get_group("s", "g")
    assert [(i["id"], i["n"]) for i in group] == [("b", 3), ("a", 2), ("~~after-the-events", 5)]
    assert sum(scanned) == 3  # the event records were not read at all
    assert await store.list_groups("s") == ["g", "other"]


async def test_send_writes_a_short_lived_record_in_the_group_partition(store: DynamoDBStreamStore, ddb: Any,
                                                                       table: str) -> None:
    item = await store.set("s", "g", "i", {"n": 1})
    change = await store.send("s", "g", "i", {"type": "typing", "data": {"who": "ann"}})
    assert change.type == "event" and change.data == {"type": "typing", "data": {"who": "ann"}}
    assert change.timestamp > item.timestamp
    rows = ddb.query(TableName=table, KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": "s#g"}})["Items"]
    events = [r for r in rows if r["sk"]["S"].startswith("~event#")]
    assert len(events) == 1
    expires = int(events[0]["expiresAt"]["N"])
    assert time.time() + EVENT_TTL_S - 5 <= expires <= time.time() + EVENT_TTL_S + 5
    assert await store.get("s", "g", events[0]["sk"]["S"]) is None  # not an item


async def test_delete_returns_the_item_stamped_after_its_last_change(store: DynamoDBStreamStore) -> None:
    last = await store.set("s", "g", "i", {"n": 1})
    deleted = await store.delete("s", "g", "i")
    assert deleted is not None
    assert (deleted.type, deleted.data, deleted.version) == ("delete", last.data, 2)
    assert deleted.timestamp == last.timestamp + 1
    assert await store.get("s", "g", "i") is None
    assert await store.delete("s", "g", "i") is None
    recreated = await store.set("s", "g", "i", {"n": 2})
    assert (recreated.type, recreated.version) == ("create", 1)
    assert recreated.timestamp > deleted.timestamp


async def test_update_rereads_and_reapplies_when_another_writer_gets_in_between(table: str, ddb: Any) -> None:
    # moto's DynamoDB has no locking, so real concurrency cannot be tested against it; instead a
    # second "Lambda" writes between mutate's read and its conditional write, every time once.
    store, other = DynamoDBStreamStore(table, client=ddb), DynamoDBStreamStore(table, client=ddb)
    await store.set("s", "g", "counter", {"count": 0})
    seen: list[int] = []

    def bump(current: dict[str, Any] | None) -> dict[str, Any]:
        assert current is not None
        seen.append(current["count"])
        if len(seen) == 1:
            competing = threading.Thread(target=lambda: asyncio.run(other.set("s", "g", "counter", {"count": 10})))
            competing.start()
            competing.join()
        doc = apply_ops(current, [{"type": "increment", "path": "count"}])
        return {"count": doc["count"]}

    change = await store.mutate("s", "g", "counter", bump)
    assert seen == [0, 10]  # the first result was refused (version changed) and fn ran again
    assert change.data["count"] == 11 and change.version == 3
    assert (await store.get("s", "g", "counter"))["count"] == 11


async def test_a_failing_mutation_writes_nothing(store: DynamoDBStreamStore) -> None:
    await store.set("s", "g", "i", {"n": 1})

    def refuse(current: dict[str, Any] | None) -> dict[str, Any]:
        raise StreamError("no")

    with pytest.raises(StreamError, match="no"):
        await store.mutate("s", "g", "i", refuse)
    assert (await store.get("s", "g", "i"))["n"] == 1


async def test_reserved_ids_are_refused(store: DynamoDBStreamStore) -> None:
    with pytest.raises(StreamError, match="reserved"):
        await store.set("s", "g", "~event#x", {"n": 1})


async def test_stream_records_turn_back_into_the_changes_written(store: DynamoDBStreamStore,
                                                                 resources: Resources) -> None:
    created = await store.set("s", "g#1", "i", {"n": 1})
    updated = await store.set("s", "g#1", "i", {"n": 2})
    sent = await store.send("s", "g#1", None, {"type": "ping", "data": 1})
    deleted = await store.delete("s", "g#1", "i")
    changes = [change_from_record(r["eventName"], r["dynamodb"].get("NewImage"), r["dynamodb"].get("OldImage"))
               for r in stream_records(resources)]
    # moto records an extra keys-only INSERT before an UpdateItem that creates an item: skipped.
    assert [c for c in changes if c is not None] == [created, updated, sent, deleted]

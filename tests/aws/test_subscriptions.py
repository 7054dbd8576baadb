"""DynamoDBSubscriptions against moto: connections, subscriptions and lookup by room."""

from __future__ import annotations

import time
from typing import Any

import pytest

from motia_runtime.adapters.aws import DynamoDBSubscriptions
from motia_runtime.adapters.aws.keys import room
from motia_runtime.protocol import Subscription
from motia_runtime.testing.resources import Resources


@pytest.fixture
def subs(resources: Resources, ddb: Any) -> DynamoDBSubscriptions:
    return DynamoDBSubscriptions(resources.tables["connections-table"], client=ddb)


def test_connections_keep_their_auth_context_and_expire(subs: DynamoDBSubscriptions) -> None:
    record = subs.add_connection("c1", {"user": "ann", "roles": ["admin"]})
    assert subs.get_connection("c1") == record
    assert record.auth_context == {"user": "ann", "roles": ["admin"]}
    assert time.time() + 2 * 3600 < record.expires_at < time.time() + 4 * 3600  # past API Gateway's 2 h limit
    assert subs.add_connection("c2").auth_context is None
    assert subs.get_connection("missing") is None


def test_rooms_list_their_subscribers(subs: DynamoDBSubscriptions) -> None:
    for cid in ("c1", "c2", "c3"):
        subs.add_connection(cid)
    subs.subscribe("c1", Subscription("chat", "g1", None, "s1"))
    subs.subscribe("c1", Subscription("chat", "g1", "m", "s2"))
    subs.subscribe("c2", Subscription("chat", "g1", "m", "s3"))
    subs.subscribe("c3", Subscription("chat", "g2", None, "s4"))
    assert subs.connections_in_room("chat", "g1") == {"c1"}
    assert subs.connections_in_room("chat", "g1", "m") == {"c1", "c2"}
    assert subs.connections_in_room("chat", "g2") == {"c3"}
    assert subs.connections_in_room("other", "g1") == set()
    assert {s.subscription_id for s in subs.subscriptions_of("c1")} == {"s1", "s2"}
    assert subs.unsubscribe("c1", "s2") == Subscription("chat", "g1", "m", "s2")  # the one removed
    assert subs.unsubscribe("c1", "s2") is None
    assert subs.connections_in_room("chat", "g1", "m") == {"c2"}


def test_item_rooms_are_keyed_by_group_too(subs: DynamoDBSubscriptions) -> None:
    # Motia keys item rooms by stream + id, so item "m" of every group shares one room.
    subs.subscribe("c1", Subscription("chat", "g1", "m", "s1"))
    subs.subscribe("c2", Subscription("chat", "g2", "m", "s2"))
    # A '#' in a group must not make group "a#b" the room of item "b" in group "a".
    subs.subscribe("c3", Subscription("chat", "a#b", None, "s3"))
    subs.subscribe("c4", Subscription("chat", "a", "b", "s4"))
    assert subs.connections_in_room("chat", "g1", "m") == {"c1"}
    assert subs.connections_in_room("chat", "g2", "m") == {"c2"}
    assert subs.connections_in_room("chat", "a#b") == {"c3"}
    assert subs.connections_in_room("chat", "a", "b") == {"c4"}
    assert room("chat", "g1") == "chat#g1" and room("chat", "g1", "m") == "chat#g1#m"


def test_removing_a_connection_removes_all_its_subscriptions(subs: DynamoDBSubscriptions, resources: Resources,
                                                             ddb: Any) -> None:
    subs.add_connection("c1", {"user": "ann"})
    subs.add_connection("c2")
    for n in range(30):  # more than one BatchWriteItem
        subs.subscribe("c1", Subscription("chat", f"g{n}", None, f"s{n}"))
    subs.subscribe("c2", Subscription("chat", "g0", None, "x"))
    assert subs.remove_connection("c1") == 31
    assert subs.get_connection("c1") is None
    assert subs.connections_in_room("chat", "g0") == {"c2"}
    rows = ddb.scan(TableName=resources.tables["connections-table"])["Items"]
    # The rooms' join counters stay (they expire on their own, after the last subscription could).
    assert {r["pk"]["S"] for r in rows if not r["pk"]["S"].startswith("~room#")} == {"c2"}


def test_a_room_is_sharded_from_its_big_room_th_join_and_read_whole(resources: Resources, ddb: Any) -> None:
    subs = DynamoDBSubscriptions(resources.tables["connections-table"], client=ddb, shards=8, big_room=10)
    ids = [f"conn-{n:03d}=" for n in range(200)]
    for n, cid in enumerate(ids):
        subs.subscribe(cid, Subscription("chat", "g", None, f"s{n}"))
        if n == 8:  # nine joins: still small, one shard holding all of them
            view = subs.room_view(room("chat", "g"))
            assert (view.shards, view.connections) == (1, set(ids[:9]))
    view = subs.room_view(room("chat", "g"))
    # Big: the 9 joins from while it was small stay in shard 0, the rest hash to shards 1..8.
    assert view.big and view.shards == 8 and view.connections == set(ids[:9])
    per_shard = [subs.connections_in_shard(room("chat", "g"), shard) for shard in range(1, 9)]
    assert set().union(view.connections, *per_shard) == set(ids) and sum(map(len, per_shard)) == 191
    assert max(map(len, per_shard)) < 40  # no key holds the room (191 / 8 ≈ 24)
    assert subs.connections_in_room("chat", "g") == set(ids)
    # A room's shard count is kept for its life: a deployment with another setting does not move it.
    other = DynamoDBSubscriptions(resources.tables["connections-table"], client=ddb, shards=16, big_room=10)
    other.subscribe("late=", Subscription("chat", "g", None, "late"))
    assert other.room_view(room("chat", "g")).shards == 8
    assert "late=" in subs.connections_in_room("chat", "g")


def test_the_delivery_ledger_round_trips(subs: DynamoDBSubscriptions) -> None:
    # Stream sequence numbers run to 40 digits: more than a DynamoDB number holds.
    done, later = 1234567890123456789012345678901234567890, 1234567890123456789012345678901234567999
    assert subs.read_delivery("u.4.1") == (0, {})
    assert subs.write_delivery("u.4.1", done, {later: {"a", "b"}})
    assert subs.read_delivery("u.4.1") == (done, {later: {"a", "b"}})
    assert subs.write_delivery("u.4.1", later, {})
    assert subs.read_delivery("u.4.1") == (later, {})


def test_the_subscription_count_of_a_connection_is_claimed_and_released_atomically(
        subs: DynamoDBSubscriptions) -> None:
    subs.add_connection("c1")
    assert [subs.claim_subscription("c1", s, limit=2) for s in ("a", "b", "c")] == ["counted", "counted", "full"]
    subs.subscribe("c1", Subscription("s", "g", None, "a"))
    assert subs.claim_subscription("c1", "a", limit=2) == "held"  # a rejoin of a held id replaces it
    assert subs.unsubscribe("c1", "a")
    subs.release_subscription("c1")
    assert subs.claim_subscription("c1", "c", limit=2) == "counted"
    assert subs.claim_subscription("gone", "a", limit=2) == "full"  # no connection record: nothing to count on
    subs.release_subscription("gone")  # nothing counted: nothing to undo, no error

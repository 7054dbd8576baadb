"""Durable history and item TTLs on the simulated AWS (CloudSim on moto), through the real entry
points: a client rejoining with ``since`` after every function started cold gets the events it
missed from their DynamoDB records, or a ``resync`` past the stream's window; a step reads them
with ``history()``; and an item set with a TTL is left out of reads once due and pushed as a
``delete`` when DynamoDB's TTL removes it. moto does not expire items: ``sim.expire_ttl()`` does
what DynamoDB's TTL process would (testing/ttl.py), and its REMOVE records drive the fan-out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.errors import ValidationError
from motia_runtime.testing import CloudSim

FILES = {
    "streams/history_case_stream.py": '''
        config = {"name": "ticks", "schema": {"type": "object"}, "public": True,
                  "history": {"window_s": 60, "max_events": 3}}
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("history", FILES)) as sim:
        yield sim


def _kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f["event"]["event"]["type"] if f["event"]["type"] == "event" else f["event"]["type"] for f in frames]


def _send(sim: CloudSim, group: str, n: int) -> None:
    sim.run(lambda rt: rt.streams["ticks"].send({"groupId": group}, {"type": "tick", "data": {"n": n}}))


def test_a_rejoin_after_a_cold_start_gets_the_missed_events(sim: CloudSim) -> None:
    first = sim.connect()
    first.join("ticks", "g1")
    since = first.frames[-1]["timestamp"]
    first.disconnect()
    for n in (1, 2):
        _send(sim, "g1", n)
    sim.pump_streams()
    sim.cold_start()
    again = sim.connect()
    again.join("ticks", "g1", since=since)
    assert _kinds(again.frames) == ["tick", "tick", "sync"]
    assert [f["event"]["event"]["data"]["n"] for f in again.frames[:2]] == [1, 2]
    events = sim.run(lambda rt: rt.streams["ticks"].history("g1", since))
    assert [(e["type"], e["data"]["n"]) for e in events] == [("tick", 1), ("tick", 2)]
    # Past the stream's 60 s window, or more than its 3 events since: a resync, and None to a step.
    stale = sim.connect()
    stale.join("ticks", "g1", since=since - 61_000)
    assert _kinds(stale.frames) == ["resync", "sync"]
    for n in (3, 4):
        _send(sim, "g1", n)
    crowded = sim.connect()
    crowded.join("ticks", "g1", since=since)
    assert _kinds(crowded.frames) == ["resync", "sync"]
    assert sim.run(lambda rt: rt.streams["ticks"].history("g1", since)) is None


def test_an_item_past_its_ttl_is_not_read_and_its_removal_is_pushed_as_a_delete(sim: CloudSim) -> None:
    client = sim.connect()
    client.join("ticks", "g2")
    sim.run(lambda rt: rt.streams["ticks"].set("g2", "brief", {"label": "goes"}, ttl=1))
    sim.run(lambda rt: rt.streams["ticks"].set("g2", "kept", {"label": "stays"}))
    sim.pump_streams()
    assert _kinds(client.frames) == ["sync", "create", "create"]
    assert sim.expire_ttl() == 0  # not due yet: DynamoDB would not delete it either
    time.sleep(2.1)  # past the second the TTL attribute names
    # Due but not yet deleted (DynamoDB takes minutes): reads leave it out already.
    assert sim.run(lambda rt: rt.streams["ticks"].get("g2", "brief")) is None
    assert [i["id"] for i in sim.run(lambda rt: rt.streams["ticks"].get_group("g2"))] == ["kept"]
    assert sim.run(lambda rt: rt.streams["ticks"].list_groups()) == ["g2"]
    assert sim.expire_ttl() >= 1  # the item (and any event records due)
    sim.pump_streams()
    assert _kinds(client.frames) == ["sync", "create", "create", "delete"]
    assert client.frames[-1]["id"] == "brief" and client.frames[-1]["event"]["data"]["label"] == "goes"


def test_a_set_without_ttl_makes_the_item_permanent_and_a_bad_ttl_is_refused(sim: CloudSim) -> None:
    sim.run(lambda rt: rt.streams["ticks"].set("g3", "a", {"v": 1}, ttl=1))
    sim.run(lambda rt: rt.streams["ticks"].update("g3", "a", [{"type": "set", "path": "v", "value": 2}]))
    sim.run(lambda rt: rt.streams["ticks"].set("g3", "b", {"v": 1}, ttl=1))
    sim.run(lambda rt: rt.streams["ticks"].set("g3", "b", {"v": 3}))  # no ttl: kept for good
    time.sleep(2.1)
    sim.expire_ttl()
    assert sim.run(lambda rt: rt.streams["ticks"].get("g3", "a")) is None  # update kept its TTL
    assert sim.run(lambda rt: rt.streams["ticks"].get("g3", "b"))["v"] == 3
    for bad in (0, -1, "5", True, float("inf")):
        with pytest.raises(ValidationError, match="ttl"):
            sim.run(lambda rt, bad=bad: rt.streams["ticks"].set("g3", "c", {"v": 1}, ttl=bad))
    assert sim.run(lambda rt: rt.streams["ticks"].get("g3", "c")) is None

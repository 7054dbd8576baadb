"""The AWS half speaks the same protocol: on the moto harness (``motia_runtime.testing.CloudSim``),
the fan-out entry posts Motia's frame sequence to a connection, and the Python client's state
rules turn those frames into the same state as on the local host."""

from __future__ import annotations

import json
from typing import Any

import pytest

from motia_runtime.client.frames import parse_server_frame
from motia_runtime.client.state import GroupState, ItemState
from tests.client.project import GOOD_TOKEN, todo, write_project

testing = pytest.importorskip("motia_runtime.testing", reason="the AWS harness needs the dev extra (moto)")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with testing.CloudSim(write_project(tmp_path_factory.mktemp("aws-client-project"))) as sim:
        yield sim


def shape(frame: dict[str, Any]) -> tuple[Any, ...]:
    event = frame["event"]
    inner = event.get("event", {}).get("type") if event["type"] == "event" else None
    return frame.get("id"), event["type"], inner


def test_motia_frame_sequence_reaches_a_harness_connection(sim: Any) -> None:
    group = "aws-g"
    ws = sim.connect()
    assert ws.accepted
    ws.join("todo", group)
    ws.join("todo", group, "a")
    ops = [todo(group, "a", "one"), todo(group, "a", "two"),
           {"op": "send", "group": group, "id": "a", "type": "typing", "data": {"who": "bo"}},
           {"op": "delete", "group": group, "id": "a"}, todo(group, "b", "kept")]
    assert sim.http("POST", "/ops", json={"ops": ops}).status == 200
    sim.run_until_idle()

    frames = ws.frames_of("todo", group)
    syncs = [f for f in frames if f["event"]["type"] == "sync"]
    assert [s.get("id") for s in syncs] == [None, "a"] and syncs[0]["event"]["data"] == []
    changes = [shape(f) for f in frames if f["event"]["type"] != "sync"]
    # One copy per change even though the connection holds the item's and the group's subscription.
    assert changes == [("a", "create", None), ("a", "update", None), ("a", "event", "typing"), ("a", "delete", None),
                       ("b", "create", None)]
    for frame in frames:
        assert {"timestamp", "streamName", "groupId", "event"} <= frame.keys()
        assert isinstance(frame["timestamp"], int)
    # Our additive per-item version rides along on item changes, as on the local host.
    item_changes = [f for f in frames if f["event"]["type"] in ("create", "update", "delete")]
    assert all(isinstance(f.get("version"), int) for f in item_changes)

    # Replayed through the Python client's rules, exactly as its connection would route them.
    listing, item = GroupState(), ItemState()
    for raw in frames:
        parsed = parse_server_frame(json.dumps(raw))
        assert parsed is not None
        if parsed.kind == "event":
            continue
        if parsed.id is None or parsed.kind != "sync":
            listing.apply(parsed)
        if parsed.id == "a":
            item.apply(parsed)
    assert [(i["id"], i["text"]) for i in listing.items] == [("b", "kept")]
    assert item.synced and item.value is None


def test_harness_refuses_a_bad_token_as_the_client_expects(sim: Any) -> None:
    refused = sim.connect("stolen")
    assert not refused.accepted and refused.status_code in (401, 403)  # -> StreamAuthError in our client
    allowed = sim.connect(GOOD_TOKEN)
    assert allowed.accepted and allowed.subprotocol == "Authorization"
    allowed.join("todo", "private-aws")
    assert allowed.errors() == []
    anonymous = sim.connect()
    anonymous.join("todo", "private-aws")
    assert [e["code"] for e in anonymous.errors()] == ["STREAM_ACCESS_DENIED"]

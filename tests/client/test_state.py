"""The client's state rules on hand-made frames: Motia's list maintenance, and ordering that
uses ``version`` so same-millisecond updates survive while stale frames are still dropped."""

from __future__ import annotations

import json
from typing import Any

from motia_runtime.client.frames import ServerFrame, parse_server_frame
from motia_runtime.client.state import GroupState, ItemState


def f(kind: str, ts: int, data: Any = None, id: str | None = "a", version: int | None = None) -> ServerFrame:
    return ServerFrame("s", "g", id, kind, data, ts, version)  # type: ignore[arg-type]


def item(id: str, text: str) -> dict[str, Any]:
    return {"id": id, "text": text}


def test_motia_frames_parse_including_errors_and_custom_events() -> None:
    update = parse_server_frame(json.dumps({"timestamp": 5, "streamName": "s", "groupId": "g", "id": "a",
                                            "event": {"type": "update", "data": item("a", "x")}, "version": 3}))
    assert update == ServerFrame("s", "g", "a", "update", item("a", "x"), 5, 3)
    error = parse_server_frame(json.dumps({"timestamp": 6, "streamName": "s", "groupId": "g", "event": {
        "type": "event", "event": {"type": "error", "data": {"code": "STREAM_ACCESS_DENIED", "message": "no"}}}}))
    assert error is not None and error.is_error and error.id is None
    assert parse_server_frame("not json") is None
    assert parse_server_frame(json.dumps({"streamName": "s", "groupId": "g", "event": {"type": "weird"}})) is None


def test_same_millisecond_updates_apply_by_version() -> None:
    state = ItemState()
    state.apply(f("sync", 10, item("a", "v0")))
    assert state.apply(f("update", 11, item("a", "v1"), version=2))
    # Motia's clients drop this one (timestamp not above 11); the version says it is newer.
    assert state.apply(f("update", 11, item("a", "v2"), version=3))
    assert state.value == item("a", "v2")
    assert not state.apply(f("update", 11, item("a", "v1"), version=2))  # a duplicate is still dropped


def test_frames_older_than_the_sync_are_dropped() -> None:
    state = ItemState()
    state.apply(f("sync", 10, item("a", "snapshot")))
    assert not state.apply(f("update", 9, item("a", "old"), version=7))  # no version known yet: the clock decides
    assert not state.apply(f("update", 10, item("a", "old")))
    assert state.value == item("a", "snapshot")


def test_without_versions_the_timestamp_rule_is_motias() -> None:
    state = ItemState()
    state.apply(f("sync", 10, None))
    assert state.synced and state.value is None
    assert state.apply(f("create", 11, item("a", "x")))
    assert not state.apply(f("update", 11, item("a", "y")))
    assert state.apply(f("delete", 12, item("a", "x")))
    assert state.value is None


def test_a_create_after_a_delete_starts_a_new_life() -> None:
    state = ItemState()
    state.apply(f("sync", 10, item("a", "x")))
    state.apply(f("update", 11, item("a", "x2"), version=5))
    state.apply(f("delete", 12, item("a", "x2"), version=6))
    # The re-created item's version starts at 1 again; it still applies.
    assert state.apply(f("create", 13, item("a", "reborn"), version=1))
    assert state.value == item("a", "reborn")
    # A create that predates the delete does not resurrect the item.
    again = ItemState()
    again.apply(f("sync", 10, item("a", "x")))
    again.apply(f("delete", 12, item("a", "x"), version=2))
    assert not again.apply(f("create", 11, item("a", "x"), version=1))
    assert again.value is None


def test_group_list_maintenance() -> None:
    group = GroupState()
    group.apply(f("sync", 10, [item("a", "1"), item("b", "2")], id=None))
    assert group.apply(f("create", 11, item("c", "3"), id="c", version=1))
    assert not group.apply(f("create", 11, item("c", "3"), id="c", version=1))  # duplicate create: ignored
    assert group.apply(f("update", 12, item("a", "1!"), id="a", version=2))
    assert group.apply(f("delete", 13, item("b", "2"), id="b", version=2))
    assert group.items == [item("a", "1!"), item("c", "3")]
    # Stale frames for an id the sync already covered are dropped.
    assert not group.apply(f("update", 9, item("a", "stale"), id="a"))
    # A newer sync replaces everything; an older one is ignored.
    assert group.apply(f("sync", 20, [item("z", "only")], id=None))
    assert not group.apply(f("sync", 15, [item("y", "older")], id=None))
    assert group.items == [item("z", "only")]
    assert not group.apply(f("update", 19, item("a", "pre-sync"), id="a"))


def test_group_sort_key_and_frozen_snapshots() -> None:
    group = GroupState(sort_key="text")
    group.apply(f("sync", 10, [item("a", "b"), item("b", "a")], id=None))
    before = group.items
    group.apply(f("create", 11, item("c", "0"), id="c"))
    assert [i["text"] for i in group.items] == ["0", "a", "b"]
    assert [i["text"] for i in before] == ["a", "b"]  # a state handed out earlier did not change


def test_after_a_reconnect_the_new_sync_wins_even_with_an_older_stamp() -> None:
    group = GroupState()
    group.apply(f("sync", 100, [item("a", "1")], id=None))
    group.rejoin()
    assert group.apply(f("sync", 50, [item("b", "other server")], id=None))
    state = ItemState()
    state.apply(f("sync", 100, item("a", "1")))
    state.rejoin()
    assert state.apply(f("sync", 50, item("a", "2")))

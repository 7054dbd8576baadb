"""``ctx.streams.<name>``: validation before writes, Motia's return shape, update ops, limits."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from motia_runtime import ItemTooLargeError, StreamConfig, StreamError, StreamNotFoundError, ValidationError
from motia_runtime.adapters.memory import MemoryStreamStore
from motia_runtime.ports.streams import StreamChange
from motia_runtime.streams import Stream, Streams


class Progress(BaseModel):
    message: str
    progress: int = 0


@pytest.fixture
def store() -> MemoryStreamStore:
    return MemoryStreamStore()


@pytest.fixture
def stream(store: MemoryStreamStore) -> Stream:
    return Stream(StreamConfig(name="pets", schema=Progress), store)


async def test_set_returns_the_item_with_id_and_motia_marker(stream: Stream) -> None:
    item = await stream.set("T-1", "message", {"message": "hi"})
    assert item == {"message": "hi", "progress": 0, "id": "message", "_createdAt": item["_createdAt"],
                    "__motia": {"type": "state-stream", "streamName": "pets", "groupId": "T-1", "id": "message"}}
    assert await stream.get("T-1", "message") == item


async def test_set_validates_before_writing(stream: Stream, store: MemoryStreamStore) -> None:
    seen: list[StreamChange] = []
    store.add_listener(seen.append)
    with pytest.raises(ValidationError) as info:
        await stream.set("T-1", "message", {"progress": "lots"})
    assert {e["field"] for e in info.value.errors} == {"message", "progress"}
    assert await stream.get_group("T-1") == [] and seen == []


async def test_an_item_read_back_can_be_written_back(stream: Stream) -> None:
    item = await stream.set("T-1", "a", Progress(message="x"))
    item["progress"] = 50
    again = await stream.set("T-1", "a", item)
    assert again["progress"] == 50 and again["_createdAt"] == item["_createdAt"]


async def test_update_applies_ops_atomically_and_validates(stream: Stream) -> None:
    await stream.set("T-1", "a", {"message": "x", "progress": 10})
    item = await stream.update("T-1", "a", [{"type": "increment", "path": "progress", "by": 15},
                                             {"type": "set", "path": "message", "value": "y"}])
    assert (item["message"], item["progress"]) == ("y", 25)
    with pytest.raises(ValidationError):
        await stream.update("T-1", "a", [{"type": "set", "path": "progress", "value": "NaN"}])
    with pytest.raises(StreamError, match="unknown update op"):
        await stream.update("T-1", "a", [{"type": "explode", "path": "x"}])
    assert (await stream.get("T-1", "a"))["progress"] == 25


async def test_delete_returns_the_deleted_item(stream: Stream) -> None:
    await stream.set("T-1", "a", {"message": "bye"})
    deleted = await stream.delete("T-1", "a")
    assert deleted is not None and deleted["message"] == "bye"
    assert await stream.delete("T-1", "a") is None


async def test_send_checks_channel_and_event(stream: Stream, store: MemoryStreamStore) -> None:
    seen: list[StreamChange] = []
    store.add_listener(seen.append)
    await stream.send({"groupId": "T-1"}, {"type": "typing", "data": {"user": "a"}})
    assert seen[0].id is None and seen[0].data == {"type": "typing", "data": {"user": "a"}}
    with pytest.raises(StreamError, match="groupId"):
        await stream.send({}, {"type": "x"})
    with pytest.raises(StreamError, match="type"):
        await stream.send({"groupId": "g"}, {"data": 1})


async def test_oversized_items_fail_at_the_call(stream: Stream) -> None:
    with pytest.raises(ItemTooLargeError, match="128 KB"):
        await stream.set("T-1", "big", {"message": "x" * 200_000})
    assert await stream.get("T-1", "big") is None


async def test_bad_keys_are_refused(stream: Stream) -> None:
    with pytest.raises(StreamError, match="group_id"):
        await stream.set(None, "a", {"message": "x"})  # type: ignore[arg-type]
    with pytest.raises(StreamError, match="id"):
        await stream.set("g", "", {"message": "x"})


def test_unknown_stream_names_list_the_known_ones(stream: Stream) -> None:
    streams = Streams({"pets": stream})
    assert streams.pets is stream and streams["pets"] is stream
    with pytest.raises(StreamNotFoundError, match="streams: pets"):
        streams.petz  # noqa: B018
    assert not hasattr(streams, "petz")


async def test_list_groups_names_the_groups_holding_items(stream: Stream) -> None:
    assert await stream.list_groups() == []
    await stream.set("b", "x", {"message": "1"})
    await stream.set("a", "x", {"message": "2"})
    await stream.set("a", "y", {"message": "3"})
    assert await stream.listGroups() == ["a", "b"]
    await stream.delete("b", "x")
    assert await stream.list_groups() == ["a"]

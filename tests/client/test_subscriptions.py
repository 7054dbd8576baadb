"""The Python client against the real ``motia dev``: sync, create, update, delete, custom events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from motia_runtime.client import ConnectionStatus, StreamClient
from motia_runtime.errors import StreamSubscriptionError
from tests.client.project import ops, todo
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow


async def next_state(iterator: Any, timeout: float = 5) -> Any:
    return await asyncio.wait_for(anext(iterator), timeout)


async def test_item_subscription_follows_sync_create_update_delete(server: InProcessServer, group: str) -> None:
    async with StreamClient(server.ws_url) as client:
        states = aiter(client.subscribe_item("todo", group, "a"))
        # Our server syncs a missing item as null (Motia sends nothing), so the client knows.
        assert await next_state(states) is None

        await ops(server.url, todo(group, "a", "first"))
        created = await next_state(states)
        assert created is not None and created["text"] == "first" and created["id"] == "a"

        await ops(server.url, todo(group, "a", "second", done=True))
        assert (await next_state(states))["text"] == "second"

        await ops(server.url, {"op": "delete", "group": group, "id": "a"})
        assert await next_state(states) is None


async def test_group_subscription_maintains_the_list(server: InProcessServer, group: str) -> None:
    await ops(server.url, todo(group, "a", "one"), todo(group, "b", "two"))
    async with StreamClient(server.ws_url) as client:
        sub = client.subscribe_group("todo", group)
        states = aiter(sub)
        assert [i["id"] for i in await next_state(states)] == ["a", "b"]

        await ops(server.url, todo(group, "c", "three"))
        assert [i["text"] for i in await next_state(states)] == ["one", "two", "three"]

        await ops(server.url, todo(group, "a", "one!"))
        assert [i["text"] for i in await next_state(states)] == ["one!", "two", "three"]

        await ops(server.url, {"op": "delete", "group": group, "id": "b"})
        assert [i["id"] for i in await next_state(states)] == ["a", "c"]
        assert sub.status == "live"


async def test_same_millisecond_updates_are_all_applied(server: InProcessServer, group: str) -> None:
    """Motia's clients drop an update stamped in the same ms as the previous frame; the
    per-item ``version`` lets ours apply every one, so the final state is the last write."""
    async with StreamClient(server.ws_url) as client:
        item = client.subscribe_item("todo", group, "hot")
        listing = client.subscribe_group("todo", group)
        await item.ready(5)
        await listing.ready(5)
        seen: list[str] = []
        item.on_change(lambda state: seen.append(state["text"]) if state else None)
        changes = item.changes()

        await ops(server.url, *(todo(group, "hot", f"v{n}") for n in range(20)))
        for _ in range(20):
            change = await asyncio.wait_for(anext(changes), 5)
            assert change.version is not None
        assert seen == [f"v{n}" for n in range(20)]
        assert item.state is not None and item.state["text"] == "v19"
        assert [i["text"] for i in listing.state] == ["v19"]


async def test_custom_events_reach_group_and_item_subscribers(server: InProcessServer, group: str) -> None:
    async with StreamClient(server.ws_url) as client:
        listing = client.subscribe_group("todo", group)
        item = client.subscribe_item("todo", group, "a")
        await listing.ready(5)
        await item.ready(5)
        group_events: asyncio.Queue[Any] = asyncio.Queue()
        item_events: asyncio.Queue[Any] = asyncio.Queue()
        listing.on_event("typing", group_events.put_nowait)
        item.on_event("typing", item_events.put_nowait)

        # A group channel reaches group subscribers only; an item channel reaches both.
        await ops(server.url, {"op": "send", "group": group, "type": "typing", "data": {"who": "group"}})
        await ops(server.url, {"op": "send", "group": group, "id": "a", "type": "typing", "data": {"who": "item"}})
        assert await asyncio.wait_for(group_events.get(), 5) == {"who": "group"}
        assert await asyncio.wait_for(group_events.get(), 5) == {"who": "item"}
        assert await asyncio.wait_for(item_events.get(), 5) == {"who": "item"}
        assert item_events.empty()
        # Events are not state.
        assert listing.state == [] and item.state is None


async def test_events_iterator_and_off_event(server: InProcessServer, group: str) -> None:
    async with StreamClient(server.ws_url) as client:
        listing = client.subscribe_group("todo", group)
        await listing.ready(5)
        calls: list[Any] = []
        remove = listing.on_event("ping", calls.append)
        changes = listing.changes()
        await ops(server.url, {"op": "send", "group": group, "type": "ping", "data": 1})
        change = await asyncio.wait_for(anext(changes), 5)
        assert (change.kind, change.event_type, change.data) == ("event", "ping", 1)
        remove()
        await ops(server.url, {"op": "send", "group": group, "type": "ping", "data": 2})
        assert (await asyncio.wait_for(anext(changes), 5)).data == 2
        assert calls == [1]


async def test_unknown_stream_fails_the_subscription(server: InProcessServer, group: str) -> None:
    async with StreamClient(server.ws_url) as client:
        sub = client.subscribe_group("nope", group)
        with pytest.raises(StreamSubscriptionError) as caught:
            await sub.ready(5)
        assert caught.value.code == "STREAM_NOT_FOUND"
        assert sub.status == "failed"
        with pytest.raises(StreamSubscriptionError):
            async for _ in sub:
                pass
        # The connection itself is fine: other subscriptions still work.
        assert client.status is ConnectionStatus.OPEN
        assert await client.subscribe_group("todo", group).ready(5) == []


async def test_access_denied_is_raised_on_the_subscription(server: InProcessServer) -> None:
    async with StreamClient(server.ws_url) as client:  # anonymous: private groups are refused
        errors: list[BaseException] = []
        sub = client.subscribe_item("todo", "private-1", "a")
        sub.on_error(errors.append)
        with pytest.raises(StreamSubscriptionError) as caught:
            await sub.ready(5)
        assert caught.value.code == "STREAM_ACCESS_DENIED"
        assert errors == [caught.value]


async def test_close_sends_leave_and_ends_iterators(server: InProcessServer, group: str) -> None:
    async with StreamClient(server.ws_url) as client:
        first = client.subscribe_item("todo", group, "a")
        second = client.subscribe_item("todo", group, "a")
        await first.ready(5)
        await second.ready(5)
        states = aiter(first)
        assert await next_state(states) is None
        await first.close()
        with pytest.raises(StopAsyncIteration):
            await next_state(states)
        # The other subscription of the same room keeps receiving.
        await ops(server.url, todo(group, "a", "still here"))
        await asyncio.wait_for(_until(lambda: second.state is not None), 5)
        assert first.state is None and first.status == "closed"
        # After client.close(), every subscription has ended.
    assert second.status == "closed"


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.01)

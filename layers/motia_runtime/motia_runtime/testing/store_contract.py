"""Contract suites for storage adapters: run them against your own StreamStore or StateStore.

Every store motia_runtime ships (memory, SQLite, Redis, DynamoDB) passes these. To check yours,
subclass the suite in a test module (the class name must start with ``Test``) and provide a
``store`` fixture that yields a ready store::

    import pytest
    from motia_runtime.testing.store_contract import StreamStoreContract

    class TestMyStore(StreamStoreContract):
        @pytest.fixture
        async def store(self):
            store = MyStore("...")
            await store.astart()
            yield store
            await store.aclose()

Stores shared by several processes subclass :class:`SharedStreamStoreContract` instead and
also provide ``peer``: a second instance over the same storage, as another worker would have.
A store whose changes are not announced to in-process listeners (DynamoDB: they come from the
table's stream) overrides ``changes`` with a :class:`ChangeRecorder` that reads them where they are.

Needs pytest and pytest-asyncio. Tests use fresh, random stream and group names, so a store
over persistent storage does not have to be emptied first.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from abc import ABC, abstractmethod
from typing import Any, TypeVar

import pytest

from ..errors import StateError
from ..ports.state import StateStore
from ..ports.streams import StreamChange, StreamStore

__all__ = ["ChangeRecorder", "ListenerRecorder", "SharedStreamStoreContract", "StateStoreContract",
           "StreamStoreContract"]

T = TypeVar("T")


def _present(value: T | None) -> T:
    """``value``, which the test made sure is there (a read of an item it wrote)."""
    assert value is not None
    return value


# Values a JSON store must give back exactly: unicode, escapes, empty containers, big and
# fractional numbers, nulls and booleans.
AWKWARD = {"text": "héllo ✓\n\"quoted\" \u2028 tab\t", "empty": {}, "none": [], "big": 12345678901234567890,
           "neg": -7, "frac": 0.1, "flag": False, "nothing": None, "nested": {"list": [1, "two", {"three": [3]}]}}


def _name(kind: str) -> str:
    return f"{kind}_{uuid.uuid4().hex[:10]}"


class ChangeRecorder(ABC):
    """The changes a store announced since the recorder was made, in order."""

    @abstractmethod
    async def seen(self) -> list[StreamChange]: ...

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[StreamChange]:
        deadline = time.monotonic() + timeout
        while True:
            changes = await self.seen()
            if len(changes) >= count or time.monotonic() > deadline:
                assert len(changes) >= count, f"expected {count} changes within {timeout}s, saw {changes}"
                return changes
            await asyncio.sleep(0.02)

    async def settle(self, quiet: float = 0.3) -> list[StreamChange]:
        """Everything seen once nothing new has arrived for ``quiet`` seconds."""
        changes = await self.seen()
        while True:
            await asyncio.sleep(quiet)
            latest = await self.seen()
            if len(latest) == len(changes):
                return latest
            changes = latest


class ListenerRecorder(ChangeRecorder):
    """Records through ``store.add_listener`` (memory, SQLite, Redis)."""

    def __init__(self, store: StreamStore) -> None:
        self.changes: list[StreamChange] = []
        store.add_listener(self.changes.append)

    async def seen(self) -> list[StreamChange]:
        return list(self.changes)


@pytest.mark.asyncio
class StreamStoreContract:
    @pytest.fixture
    def store(self) -> StreamStore:
        raise NotImplementedError("override the `store` fixture to return the store under test")

    @pytest.fixture
    def changes(self, store: StreamStore) -> ChangeRecorder:
        return ListenerRecorder(store)

    @pytest.fixture
    def stream(self) -> str:
        return _name("stream")

    async def test_reads_of_nothing_find_nothing(self, store: StreamStore, changes: ChangeRecorder,
                                                 stream: str) -> None:
        assert await store.get(stream, "g", "missing") is None
        assert await store.get_group(stream, "g") == []
        assert await store.list_groups(stream) == []
        assert await store.delete(stream, "g", "missing") is None
        assert await changes.settle(0.1) == []

    async def test_set_creates_then_updates_with_versions_and_increasing_stamps(self, store: StreamStore,
                                                                                stream: str) -> None:
        first = await store.set(stream, "g", "a", {"v": 1})
        second = await store.set(stream, "g", "a", {"v": 2})
        assert (first.type, first.version, second.type, second.version) == ("create", 1, "update", 2)
        assert (first.stream_name, first.group_id, first.id) == (stream, "g", "a")
        assert first.data == {"v": 1, "id": "a", "_createdAt": first.timestamp}
        assert second.data == {"v": 2, "id": "a", "_createdAt": first.timestamp}  # creation time kept
        assert second.timestamp > first.timestamp
        assert await store.get(stream, "g", "a") == second.data

    async def test_stamps_and_versions_strictly_increase_within_a_millisecond(self, store: StreamStore,
                                                                              stream: str) -> None:
        results = [await store.set(stream, "g", "a", {"n": n}) for n in range(30)]
        stamps = [c.timestamp for c in results]
        assert all(a < b for a, b in itertools.pairwise(stamps)), stamps
        assert [c.version for c in results] == list(range(1, 31))

    async def test_items_round_trip_exactly(self, store: StreamStore, stream: str) -> None:
        change = await store.set(stream, "g", "a", AWKWARD)
        expected = {**AWKWARD, "id": "a", "_createdAt": change.data["_createdAt"]}
        assert change.data == expected
        assert await store.get(stream, "g", "a") == expected
        assert await store.get_group(stream, "g") == [expected]

    async def test_stored_items_are_not_aliased(self, store: StreamStore, stream: str) -> None:
        data = {"tags": ["a"]}
        await store.set(stream, "g", "a", data)
        data["tags"].append("changed after set")
        read = await store.get(stream, "g", "a")
        assert read is not None and read["tags"] == ["a"]
        read["tags"].append("changed after get")
        assert _present(await store.get(stream, "g", "a"))["tags"] == ["a"]

    async def test_groups_are_ordered_by_creation_and_isolated(self, store: StreamStore, stream: str) -> None:
        other_stream = _name("stream")
        await store.set(stream, "g", "b", {"v": 1})
        await store.set(stream, "g", "a", {"v": 2})
        await store.set(stream, "g", "b", {"v": 3})  # an update keeps the item's place
        await store.set(stream, "h", "a", {"v": 4})
        await store.set(other_stream, "g", "c", {"v": 5})
        assert [(i["id"], i["v"]) for i in await store.get_group(stream, "g")] == [("b", 3), ("a", 2)]
        assert [i["v"] for i in await store.get_group(stream, "h")] == [4]
        assert await store.list_groups(stream) == ["g", "h"]
        assert await store.list_groups(other_stream) == ["g"]
        assert await store.get(other_stream, "g", "a") is None

    async def test_names_with_separators_and_unicode_stay_apart(self, store: StreamStore, stream: str) -> None:
        odd = ["room: 1/\u00e9", "room", "room:", "a%3Ab", "a:b", "x#y"]
        for n, group in enumerate(odd):
            await store.set(stream, group, f"item:{n} %x", {"n": n})
        assert await store.list_groups(stream) == sorted(odd)
        for n, group in enumerate(odd):
            assert [i["n"] for i in await store.get_group(stream, group)] == [n]
            assert _present(await store.get(stream, group, f"item:{n} %x"))["id"] == f"item:{n} %x"

    async def test_delete_returns_the_item_and_a_later_set_creates_it_anew(self, store: StreamStore,
                                                                          stream: str) -> None:
        await store.set(stream, "g", "a", {"v": 1})
        last = await store.set(stream, "g", "a", {"v": 2})
        deleted = await store.delete(stream, "g", "a")
        assert deleted is not None
        assert (deleted.type, deleted.data, deleted.version) == ("delete", last.data, 3)
        assert deleted.timestamp > last.timestamp
        assert await store.get(stream, "g", "a") is None
        assert await store.list_groups(stream) == []  # an emptied group is gone
        assert await store.delete(stream, "g", "a") is None
        again = await store.set(stream, "g", "a", {"v": 3})
        assert (again.type, again.version) == ("create", 1)
        assert again.timestamp > deleted.timestamp
        assert again.data["_createdAt"] == again.timestamp

    async def test_send_is_announced_and_not_stored(self, store: StreamStore, changes: ChangeRecorder,
                                                    stream: str) -> None:
        before = await store.set(stream, "g", "a", {"v": 1})
        to_item = await store.send(stream, "g", "a", {"type": "typing", "data": {"who": "me"}})
        to_group = await store.send(stream, "g", None, {"type": "ping", "data": None})
        assert (to_item.type, to_item.id, to_item.data) == ("event", "a", {"type": "typing", "data": {"who": "me"}})
        assert (to_group.type, to_group.id, to_group.version) == ("event", None, None)
        assert before.timestamp < to_item.timestamp < to_group.timestamp
        assert await store.get_group(stream, "g") == [before.data]
        assert await changes.wait_for(3) == [before, to_item, to_group]

    async def test_mutate_creates_updates_and_writes_nothing_when_fn_raises(self, store: StreamStore,
                                                                           changes: ChangeRecorder,
                                                                           stream: str) -> None:
        given: list[Any] = []

        def bump(current: dict[str, Any] | None) -> dict[str, Any]:
            given.append(current)
            return {"n": (current or {"n": 0})["n"] + 1}

        created = await store.mutate(stream, "g", "a", bump)
        updated = await store.mutate(stream, "g", "a", bump)
        assert (created.type, created.version, updated.type, updated.version) == ("create", 1, "update", 2)
        assert given[0] is None and given[-1] == created.data  # fn sees the stored item, id and all
        assert updated.data == {"n": 2, "id": "a", "_createdAt": created.timestamp}

        def refuse(current: dict[str, Any] | None) -> dict[str, Any]:
            raise ValueError("no")

        with pytest.raises(ValueError):
            await store.mutate(stream, "g", "a", refuse)
        assert await store.get(stream, "g", "a") == updated.data
        assert await changes.settle(0.2) == [created, updated]

    async def test_concurrent_mutations_all_land(self, store: StreamStore, stream: str) -> None:
        await store.set(stream, "g", "counter", {"n": 0})

        def increment(current: dict[str, Any] | None) -> dict[str, Any]:
            return {"n": (current or {"n": 0})["n"] + 1}

        results = await asyncio.gather(*(store.mutate(stream, "g", "counter", increment) for _ in range(8)))
        assert sorted(_present(c.version) for c in results) == list(range(2, 10))
        assert _present(await store.get(stream, "g", "counter"))["n"] == 8

    async def test_every_change_is_announced_once_in_order(self, store: StreamStore, changes: ChangeRecorder,
                                                          stream: str) -> None:
        made = [
            await store.set(stream, "g", "a", {"v": 1}),
            await store.set(stream, "g", "b", {"v": 1}),
            await store.mutate(stream, "g", "a", lambda current: {"v": 2}),
            await store.send(stream, "g", "a", {"type": "note", "data": 1}),
        ]
        made.append(_present(await store.delete(stream, "g", "b")))
        await changes.wait_for(len(made))
        assert await changes.settle() == made


class SharedStreamStoreContract(StreamStoreContract):
    """For stores that several processes share: ``peer`` is a second instance over the same storage."""

    @pytest.fixture
    def peer(self, store: StreamStore) -> StreamStore:
        raise NotImplementedError("override the `peer` fixture to return a second instance of the store")

    async def test_instances_share_items(self, store: StreamStore, peer: StreamStore, stream: str) -> None:
        made = await store.set(stream, "g", "a", {"v": 1})
        assert await peer.get(stream, "g", "a") == made.data
        updated = await peer.mutate(stream, "g", "a", lambda current: {"v": _present(current)["v"] + 1})
        assert (updated.type, updated.version) == ("update", 2)
        assert await store.get_group(stream, "g") == [updated.data]
        assert await store.list_groups(stream) == await peer.list_groups(stream) == ["g"]

    async def test_stamps_increase_across_instances_whose_clocks_disagree(self, store: StreamStore,
                                                                         peer: StreamStore, stream: str) -> None:
        store.clock.advance_to(int(time.time() * 1000) + 60_000)  # a minute ahead of the peer
        results = []
        for n in range(10):
            results.append(await (store if n % 2 else peer).set(stream, "g", "a", {"n": n}))
        stamps = [c.timestamp for c in results]
        assert all(a < b for a, b in itertools.pairwise(stamps)), stamps
        assert [c.version for c in results] == list(range(1, 11))

    async def test_a_write_after_a_read_is_stamped_above_the_readers_clock(self, store: StreamStore,
                                                                           peer: StreamStore, stream: str) -> None:
        # The hosts' join: tick a sync stamp, read the snapshot. A change made anywhere after the
        # read must be stamped above the sync stamp, or clients drop it as stale.
        store.clock.advance_to(int(time.time() * 1000) + 60_000)
        sync_stamp = store.clock.tick()
        await store.get_group(stream, "g")
        assert (await peer.set(stream, "g", "new", {"v": 1})).timestamp > sync_stamp

    async def test_concurrent_mutations_from_both_instances_all_land(self, store: StreamStore, peer: StreamStore,
                                                                     stream: str) -> None:
        def increment(current: dict[str, Any] | None) -> dict[str, Any]:
            return {"n": (current or {"n": 0})["n"] + 1}

        await asyncio.gather(*(s.mutate(stream, "g", "c", increment) for s in [store, peer] * 4))
        assert _present(await peer.get(stream, "g", "c"))["n"] == 8

    async def test_changes_made_through_the_peer_are_announced_once(self, store: StreamStore, peer: StreamStore,
                                                                    changes: ChangeRecorder, stream: str) -> None:
        made = [await peer.set(stream, "g", "a", {"v": 1}), await peer.send(stream, "g", None, {"type": "x"}),
                await store.set(stream, "g", "a", {"v": 2})]
        await changes.wait_for(len(made))
        assert await changes.settle() == made


@pytest.mark.asyncio
class StateStoreContract:
    @pytest.fixture
    def store(self) -> StateStore:
        raise NotImplementedError("override the `store` fixture to return the state store under test")

    @pytest.fixture
    def group(self) -> str:
        return _name("group")

    async def _set_apart(self, store: StateStore, group: str, key: str, value: Any) -> None:
        # Stores may order keys by a millisecond creation stamp; keep first insertions apart.
        await store.set(group, key, value)
        await asyncio.sleep(0.003)

    async def test_values_round_trip_in_insertion_order(self, store: StateStore, group: str) -> None:
        assert await store.get(group, "missing") is None
        await self._set_apart(store, group, "b", AWKWARD)
        await self._set_apart(store, group, "a", [1, "x"])
        await self._set_apart(store, group, "c", 5)
        assert await store.set(group, "b", "replaced") == "replaced"  # keeps its place
        assert await store.get(group, "a") == [1, "x"]
        assert await store.get_group(group) == ["replaced", [1, "x"], 5]
        assert await store.items(group) == [("b", "replaced"), ("a", [1, "x"]), ("c", 5)]
        await store.set(group, "d", AWKWARD)
        assert await store.get(group, "d") == AWKWARD

    async def test_values_are_copies(self, store: StateStore, group: str) -> None:
        value = {"tags": ["a"]}
        await store.set(group, "k", value)
        value["tags"].append("b")
        read = await store.get(group, "k")
        assert read is not None
        read["tags"].append("c")
        assert await store.get(group, "k") == {"tags": ["a"]}

    async def test_pages_walk_the_group_in_key_order_both_ways(self, store: StateStore, group: str) -> None:
        # Keys set out of order, with non-ASCII keys: the order is code points (UTF-8 bytes).
        keys = ["k07", "k02", "k10", "k01", "k05", "é", "k09", "k03", "k08", "k04", "k06", "Z", "✓"]
        for key in keys:
            await store.set(group, key, {"key": key})
        await store.set(_name("group"), "k055", "another group's key")
        ordered = sorted(keys)
        for descending in (False, True):
            expected = ordered[::-1] if descending else ordered
            seen: list[str] = []
            after = None
            while True:
                page = await store.page(group, limit=4, after=after, descending=descending)
                assert [value["key"] for _, value in page.items] == [key for key, _ in page.items]
                seen += [key for key, _ in page.items]
                if page.next_after is None:
                    break
                assert page.next_after == page.items[-1][0] and len(page.items) == 4
                after = page.next_after
            assert seen == expected
        whole = await store.page(group, limit=len(keys))
        assert [k for k, _ in whole.items] == ordered and whole.next_after is None

    async def test_a_page_starts_after_a_key_that_is_gone(self, store: StateStore, group: str) -> None:
        for key in ("a", "b", "c", "d"):
            await store.set(group, key, key)
        first = await store.page(group, limit=2, descending=True)
        assert first.items == [("d", "d"), ("c", "c")] and first.next_after == "c"
        await store.delete(group, "c")
        await store.set(group, "e", "e")  # a key written after the walk started lands before it
        rest = await store.page(group, limit=2, after=first.next_after, descending=True)
        assert rest.items == [("b", "b"), ("a", "a")] and rest.next_after is None
        assert (await store.page(group, limit=5, after="b")).items == [("d", "d"), ("e", "e")]
        assert (await store.page(_name("group"), limit=3)).items == []
        assert (await store.page(group, limit=3, after="z")).items == []
        await store.clear(group)
        assert (await store.page(group, limit=3)).items == []

    async def test_a_page_is_a_copy_and_needs_a_positive_limit(self, store: StateStore, group: str) -> None:
        await store.set(group, "k", {"tags": ["a"]})
        (_, value), = (await store.page(group, limit=1)).items
        value["tags"].append("b")
        assert await store.get(group, "k") == {"tags": ["a"]}
        for bad in (0, -1, True, 1.5):
            with pytest.raises(StateError, match="limit"):
                await store.page(group, limit=bad)  # type: ignore[arg-type]  # the wrong types are the point

    async def test_delete_clear_and_groups(self, store: StateStore, group: str) -> None:
        other = _name("group")
        await store.set(group, "k", {"v": 1})
        await store.set(group, "j", 2)
        await store.set(other, "k", 3)
        mine = sorted([group, other])
        assert [g for g in await store.list_groups() if g in mine] == mine
        assert await store.delete(group, "k") == {"v": 1}
        assert await store.delete(group, "k") is None
        assert await store.delete(group, "j") == 2
        assert group not in await store.list_groups()  # an emptied group is gone
        await store.clear(other)
        assert await store.get_group(other) == []
        assert other not in await store.list_groups()


    async def test_mutate_returns_old_and_new_and_is_atomic(self, store: StateStore, group: str) -> None:
        assert await store.mutate(group, "m", lambda current: {"n": 1, "was": current}) == (None, {"n": 1, "was": None})
        def bump(current: Any) -> Any:  # the item is there: set just above
            return {**current, "n": current["n"] + 1}

        old, new = await store.mutate(group, "m", bump)
        assert old == {"n": 1, "was": None} and new == {"n": 2, "was": None}

        def refuse(_: Any) -> Any:
            raise ValueError("no")

        with pytest.raises(ValueError):
            await store.mutate(group, "m", refuse)
        assert await store.get(group, "m") == {"n": 2, "was": None}  # nothing written
        # Concurrent increments all land (stores that retry call fn again on a race).
        await asyncio.gather(*(store.mutate(group, "c", lambda current: (current or 0) + 1) for _ in range(20)))
        assert await store.get(group, "c") == 20
        assert [k for k, _ in await store.items(group)] == ["m", "c"]

    async def test_a_key_holding_null_exists(self, store: StateStore, group: str) -> None:
        # What a state trigger reports: a write over a null is an update, a delete of it is a delete.
        assert await store.mutate_entry(group, "n", lambda current: None) == (False, None, None)
        assert await store.mutate_entry(group, "n", lambda current: None) == (True, None, None)
        assert await store.mutate_entry(group, "n", lambda current: {"a": 1}) == (True, None, {"a": 1})
        await store.set(group, "z", None)
        assert await store.delete_entry(group, "z") == (True, None)
        assert await store.delete_entry(group, "z") == (False, None)
        assert await store.delete_entry(group, "n") == (True, {"a": 1})
        assert await store.get_group(group) == []

"""DynamoDBStateStore against moto."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from motia_runtime.adapters.aws import DynamoDBStateStore
from motia_runtime.errors import StateError
from motia_runtime.testing.resources import Resources


@pytest.fixture
def store(resources: Resources, ddb: object) -> DynamoDBStateStore:
    return DynamoDBStateStore(resources.tables["state-table"], client=ddb)


async def test_set_get_roundtrips_json_exactly(store: DynamoDBStateStore) -> None:
    value = {"name": "Buddy", "weight": 12.75, "tags": ["a", "b"], "nested": {"n": None, "ok": True}}
    assert await store.get("pets", "1") is None
    assert await store.set("pets", "1", value) == value
    assert await store.get("pets", "1") == value
    assert await store.get("pets", "2") is None
    assert await store.get("other", "1") is None


async def test_get_group_keeps_oldest_key_first_across_updates(store: DynamoDBStateStore) -> None:
    await store.set("g", "zeta", 1)
    await store.set("g", "alpha", 2)
    await store.set("g", "zeta", 3)  # an update must not move the key to the end
    assert await store.get_group("g") == [3, 2]
    assert await store.items("g") == [("zeta", 3), ("alpha", 2)]


async def test_delete_returns_the_old_value(store: DynamoDBStateStore) -> None:
    await store.set("g", "k", {"v": 1})
    assert await store.delete("g", "k") == {"v": 1}
    assert await store.get("g", "k") is None
    assert await store.delete("g", "k") is None


async def test_clear_removes_only_that_group_even_past_one_batch(store: DynamoDBStateStore) -> None:
    for i in range(30):  # BatchWriteItem takes 25 at a time
        await store.set("big", f"k{i:02d}", i)
    await store.set("keep", "k", "stays")
    await store.clear("big")
    assert await store.get_group("big") == []
    assert await store.get("keep", "k") == "stays"
    assert await store.list_groups() == ["keep"]


async def test_list_groups(store: DynamoDBStateStore) -> None:
    await store.set("b", "k", 1)
    await store.set("a", "k", 1)
    await store.set("a", "j", 1)
    assert await store.list_groups() == ["a", "b"]


async def test_models_are_stored_as_json_and_bad_values_refused(store: DynamoDBStateStore) -> None:
    class Pet(BaseModel):
        name: str

    await store.set("g", "pet", Pet(name="Rex"))
    assert await store.get("g", "pet") == {"name": "Rex"}
    with pytest.raises(StateError, match="not JSON-serialisable"):
        await store.set("g", "bad", object())
    assert await store.get("g", "bad") is None


async def test_oversized_value_fails_with_a_state_error(store: DynamoDBStateStore) -> None:
    with pytest.raises(StateError, match="400 KB"):
        await store.set("g", "huge", "x" * 500_000)

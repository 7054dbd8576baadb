"""``GET /pets`` a page at a time, over real HTTP on loopback against ``motia dev`` on SQLite.

The paging itself (``ctx.state.page``) is checked on every store by the contract suites
(``motia_runtime.testing.store_contract``); here: the endpoint's order, cursor and errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from functions.pets.list_pets_step import DEFAULT_LIMIT, MAX_LIMIT

from tests.pets.conftest import FAST
from tests.pets.support import REPO
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow

PETS = 45


@pytest.fixture(scope="module")
def shelter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A server of its own, so this module knows every pet stored."""
    dev = InProcessServer(REPO, tmp_path_factory.mktemp("pets-list"), env=FAST).start()
    yield dev
    dev.stop()


async def get(server: InProcessServer, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.get("/pets", params=params)


async def walk(server: InProcessServer, limit: int) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        body = (await get(server, limit=limit, **({"cursor": cursor} if cursor else {}))).json()
        pages.append(body["pets"])
        cursor = body["nextCursor"]
        if cursor is None:
            return pages
        assert cursor == body["pets"][-1]["id"]


@pytest.fixture(scope="module")
def created(shelter: InProcessServer) -> list[str]:
    """The ids of PETS pets, in the order they were created (one at a time)."""
    async def create() -> list[str]:
        ids = []
        async with httpx.AsyncClient(base_url=shelter.url, timeout=30) as http:
            for n in range(PETS):
                response = await http.post("/pets", json={"name": f"Pet {n}", "species": "cat", "ageMonths": n})
                assert response.status_code == 201, response.text
                ids.append(response.json()["petId"])
        return ids
    return asyncio.run(create())


async def test_pages_list_every_pet_once_newest_first(shelter: InProcessServer, created: list[str]) -> None:
    pages = await walk(shelter, 20)
    assert [len(p) for p in pages] == [20, 20, 5]
    ids = [pet["id"] for page in pages for pet in page]
    assert ids == created[::-1]
    # Each listed pet is the whole pet, as GET /pets/:id answers it (its profile, once enriched).
    first = pages[0][0]
    assert first["name"] == f"Pet {PETS - 1}" and first["status"] and first["createdAt"]


async def test_the_default_page_and_the_largest(shelter: InProcessServer, created: list[str]) -> None:
    body = (await get(shelter)).json()
    assert [p["id"] for p in body["pets"]] == created[::-1][:DEFAULT_LIMIT]
    assert body["nextCursor"] == created[::-1][DEFAULT_LIMIT - 1]
    whole = (await get(shelter, limit=MAX_LIMIT)).json()
    assert len(whole["pets"]) == PETS and whole["nextCursor"] is None


async def test_a_pet_changing_while_a_client_pages_does_not_move(shelter: InProcessServer, created: list[str]) -> None:
    first = (await get(shelter, limit=10)).json()
    # The oldest pet changes mid-walk: ordered by last update it would jump to the first page
    # and never be seen; ordered by creation it is met where it always was.
    async with httpx.AsyncClient(base_url=shelter.url, timeout=30) as http:
        assert (await http.put(f"/pets/{created[0]}", json={"notes": "moved?"})).status_code == 200
    rest: list[dict[str, Any]] = []
    cursor = first["nextCursor"]
    while cursor:
        body = (await get(shelter, limit=10, cursor=cursor)).json()
        rest += body["pets"]
        cursor = body["nextCursor"]
    ids = [p["id"] for p in first["pets"] + rest]
    assert ids == created[::-1]
    assert rest[-1]["notes"] == "moved?"


async def test_a_new_pet_appears_on_the_first_page_not_mid_walk(shelter: InProcessServer, created: list[str]) -> None:
    first = (await get(shelter, limit=40)).json()
    async with httpx.AsyncClient(base_url=shelter.url, timeout=30) as http:
        newer = (await http.post("/pets", json={"name": "Late", "species": "dog", "ageMonths": 1})).json()["petId"]
    rest = (await get(shelter, limit=40, cursor=first["nextCursor"])).json()
    assert newer not in {p["id"] for p in first["pets"] + rest["pets"]}
    assert (await get(shelter, limit=1)).json()["pets"][0]["id"] == newer


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": str(MAX_LIMIT + 1)}, "limit"), ({"limit": "ten"}, "limit"),
    ({"limit": "2.5"}, "limit"), ({"limit": ["1", "2"]}, "limit"), ({"cursor": "not-a-pet"}, "cursor"),
    ({"cursor": ""}, "cursor"), ({"cursor": "0" * 40}, "cursor"), ({"cursor": "../pets"}, "cursor"),
])
async def test_a_bad_limit_or_cursor_is_a_400_naming_it(shelter: InProcessServer, params: dict[str, Any],
                                                        field: str) -> None:
    response = await get(shelter, **params)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_cursor_past_the_oldest_pet_is_an_empty_last_page(shelter: InProcessServer, created: list[str]) -> None:
    body = (await get(shelter, cursor="0" * 12)).json()
    assert body == {"pets": [], "nextCursor": None}

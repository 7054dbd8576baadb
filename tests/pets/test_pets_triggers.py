"""The pet shelter's trigger steps: ShelterStats (a state trigger keeping counts live) and
StaffAlertOnIllness (a stream trigger with a condition), in-process and on the real local server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.pets.support import GroupWatcher, MemoryApp
from tests.support.inprocess import InProcessServer


@pytest.fixture(autouse=True)
def fast_and_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PET_STAGE_DELAY_MS", "0")
    monkeypatch.setenv("PET_FIELD_DELAY_MS", "0")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "PET_AI_MODEL"):
        monkeypatch.delenv(name, raising=False)


async def counts(app: MemoryApp) -> dict[str, Any]:
    item = await app.runtime.streams["shelterStats"].get("shelter", "counts")
    assert item is not None
    return {"byStatus": {k: v for k, v in item["byStatus"].items() if v}, "total": item["total"]}


async def test_shelter_stats_follow_every_pet_through_its_journey() -> None:
    app = MemoryApp()
    healthy = await app.call("CreatePet", {"name": "Rex", "species": "dog", "ageMonths": 12})
    ill = await app.call("CreatePet", {"name": "Luna", "species": "cat", "ageMonths": 8, "symptoms": ["fever"]})
    await app.bus.drain()
    rex, luna = (await app.pet(healthy.body["petId"]))["status"], (await app.pet(ill.body["petId"]))["status"]
    assert (rex, luna) == ("available", "under_treatment")
    assert await counts(app) == {"byStatus": {"available": 1, "under_treatment": 1}, "total": 2}
    # A staff change of another field leaves the counts; a status change moves one pet.
    pet = await app.pet(healthy.body["petId"])
    await app.runtime.state.set("pets", pet["id"], {**pet, "notes": "likes cats"})
    await app.runtime.state.set("pets", pet["id"], {**pet, "status": "pending"})
    await app.bus.drain()
    assert await counts(app) == {"byStatus": {"pending": 1, "under_treatment": 1}, "total": 2}
    await app.runtime.state.delete("pets", pet["id"])
    await app.bus.drain()
    assert await counts(app) == {"byStatus": {"under_treatment": 1}, "total": 1}


async def test_a_pet_found_ill_raises_one_staff_alert() -> None:
    app = MemoryApp()
    healthy = await app.call("CreatePet", {"name": "Rex", "species": "dog", "ageMonths": 12})
    ill = await app.call("CreatePet", {"name": "Luna", "species": "cat", "ageMonths": 8, "symptoms": ["fever"]})
    await app.bus.drain()
    alerts = await app.runtime.streams["staffAlerts"].get_group("staff")
    assert [(a["petId"], a["kind"]) for a in alerts] == [(ill.body["petId"], "health_check_failed")]
    assert alerts[0]["streamGroupId"] == ill.body["__motia"]["groupId"]
    assert healthy.body["petId"] not in {a["petId"] for a in alerts}


@pytest.mark.slow
async def test_on_the_local_server_a_client_sees_the_counts_move_and_staff_get_the_alert(
        server: InProcessServer) -> None:
    async with GroupWatcher(server.ws_url, "shelter", stream="shelterStats") as stats:
        async with httpx.AsyncClient(base_url=server.url) as client:
            before = (stats.items.get("counts") or {}).get("total", 0)
            response = await client.post("/pets", json={"name": "Milo", "species": "dog", "ageMonths": 3,
                                                        "symptoms": ["coughing"]})
            assert response.status_code == 201
            pet_id = response.json()["petId"]
            await stats.wait_for(lambda w: (w.items.get("counts") or {}).get("total", 0) == before + 1)
            deadline = time.time() + 15
            while True:
                alerts = (await client.get("/__motia/streams/staffAlerts/groups/staff")).json()["items"]
                if any(a["petId"] == pet_id for a in alerts):
                    break
                assert time.time() < deadline, f"no staff alert for {pet_id}: {alerts}"
                await asyncio.sleep(0.1)

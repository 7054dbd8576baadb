"""The pet shelter walkthrough on the real local server, watched over a real WebSocket.

Each test creates its own pets through HTTP, joins the pet's ``petCreation`` group the way
``useStreamGroup`` does, and checks what a client sees: every stage of the ``message`` item in
order, the AI enrichment items, and the orchestrator's transitions.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from functions.pets import enrichment
from functions.pets import messages as msg

from tests.pets.support import GroupWatcher, ModelScript, model_profile
from tests.support.fake_openai import FakeOpenAI
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow

ENRICHMENT_ITEMS = ["enrichment_started", "progress_bio", "progress_breedGuess", "progress_temperamentTags",
                    "progress_adopterHints", "completed"]


async def create(server: InProcessServer, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        return await http.post("/pets", json=body)


async def api(server: InProcessServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.request(method, path, **kwargs)


def done(final_message: str, *items: str):
    def check(w: GroupWatcher) -> bool:
        return w.message("message") == final_message and all(i in w.items for i in items) \
            and (w.message("completed") or "").startswith("AI enrichment completed")
    return check


def created_at(w: GroupWatcher, *ids: str) -> list[int]:
    return [w.items[i]["_createdAt"] for i in ids]


def log_entries(server: InProcessServer) -> list[dict[str, Any]]:
    entries = []
    for line in server.logs().splitlines():
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except ValueError:
                pass
    return entries


async def test_a_healthy_pet_streams_every_stage_into_its_group(server: InProcessServer,
                                                                fake_model: FakeOpenAI) -> None:
    response = await create(server, {"name": "Buddy", "species": "dog", "ageMonths": 24, "weightKg": 20.5})
    assert response.status_code == 201
    item = response.json()
    pet_id, group = item["petId"], item["__motia"]["groupId"]
    # The body is the stream item, so the Workbench and clients can subscribe to it (__motia).
    assert item["__motia"] == {"type": "state-stream", "streamName": "petCreation", "groupId": group, "id": "message"}
    assert item["message"] == msg.created("Buddy", pet_id, "dog", 24, "new")
    assert (item["stage"], item["progress"], item["status"]) == ("created", 10, "new")
    assert group == response.headers["x-trace-id"]  # the group is the creation request's trace id

    async with GroupWatcher(server.ws_url, group) as w:
        await w.wait_for(done(msg.healthy_and_ready("Buddy"), "available"))

    # The message item's successive texts, in order (the tutorial's exact wording).
    assert w.history["message"] == [
        msg.created("Buddy", pet_id, "dog", 24, "new"),
        msg.entered_quarantine("Buddy"),
        msg.health_check_passed("Buddy"),
        msg.healthy_and_ready("Buddy"),
    ]
    assert [w.items["message"]["stage"], w.items["message"]["progress"]] == ["health_result", 100]

    # The orchestrator's transitions, in order, each on the item named after the status reached.
    assert w.message("in_quarantine") == msg.status_transition(
        "new", "in_quarantine", "Pet moved to quarantine after feeding setup")
    assert w.message("healthy") == msg.status_transition(
        "in_quarantine", "healthy", "Staff health check - pet cleared from quarantine")
    assert w.message("available") == msg.automatic_transition(
        "healthy", "available", "Automatic progression - pet ready for adoption")
    assert created_at(w, "in_quarantine", "healthy", "available") == sorted(
        created_at(w, "in_quarantine", "healthy", "available"))
    assert "ill" not in w.items

    # The enrichment: started, one item per field as the model's JSON completed, completed.
    profile = model_profile("Buddy")
    assert created_at(w, *ENRICHMENT_ITEMS) == sorted(created_at(w, *ENRICHMENT_ITEMS))
    assert w.message("enrichment_started") == msg.enrichment_started("Buddy")
    for field in ("bio", "breedGuess", "temperamentTags", "adopterHints"):
        progress = w.items[f"progress_{field}"]
        assert progress["message"] == msg.generated_field(field, "Buddy")
        assert (progress["field"], progress["value"]) == (field, profile[field])
    assert [w.items[f"progress_{f}"]["progress"] for f in ("bio", "breedGuess", "temperamentTags", "adopterHints")] \
        == [20, 40, 60, 80]
    assert w.message("completed") == msg.enrichment_completed("Buddy")
    assert w.items["completed"]["progress"] == 100

    # State: the pet moved on, and the saved profile is what the fake model returned.
    pet = (await api(server, "GET", f"/pets/{pet_id}")).json()
    assert pet["status"] == "available"
    assert pet["profile"] == profile
    assert pet["notes"] == "Welcome to our pet store! We'll take great care of this pet."
    assert pet["streamGroupId"] == group
    enrichment_requests = [r for r in fake_model.requests if r.get("stream") and "- Name: Buddy" in json.dumps(r)]
    assert len(enrichment_requests) == 1 and enrichment_requests[0]["model"] == "fake-pets"


async def test_a_pet_with_symptoms_goes_ill_then_under_treatment(server: InProcessServer) -> None:
    response = await create(server, {"name": "Luna", "species": "cat", "ageMonths": 8,
                                     "symptoms": ["coughing", "fever"]})
    assert response.status_code == 201
    pet_id, group = response.json()["petId"], response.json()["__motia"]["groupId"]

    async with GroupWatcher(server.ws_url, group) as w:
        await w.wait_for(done(msg.needs_treatment("Luna"), "under_treatment"))

    assert w.history["message"] == [
        msg.created("Luna", pet_id, "cat", 8, "new"),
        msg.entered_quarantine("Luna"),
        msg.health_check_failed("Luna", ["coughing", "fever"]),
        msg.needs_treatment("Luna"),
    ]
    assert w.message("ill") == msg.status_transition(
        "in_quarantine", "ill", "Staff assessment - pet identified as ill")
    assert w.message("under_treatment") == msg.automatic_transition(
        "ill", "under_treatment", "Automatic progression - treatment started")
    assert created_at(w, "in_quarantine", "ill", "under_treatment") == sorted(
        created_at(w, "in_quarantine", "ill", "under_treatment"))
    assert "healthy" not in w.items and "available" not in w.items
    assert (await api(server, "GET", f"/pets/{pet_id}")).json()["status"] == "under_treatment"

    # The treatment path: the automatic ill → under_treatment fired treatment.required.
    deadline = time.time() + 5
    while not any(e.get("message") == "📅 Treatment scheduled" and e.get("petId") == pet_id
                  for e in log_entries(server)):
        assert time.time() < deadline, "the treatment scheduler did not run"
        await asyncio.sleep(0.05)
    [scheduled] = [e for e in log_entries(server) if e.get("message") == "📅 Treatment scheduled"
                   and e.get("petId") == pet_id]
    assert scheduled["treatmentType"] == "Fever Management"
    assert scheduled["medication"] == ["Fever Reducer (Acetaminophen)"]


async def test_a_model_answer_that_is_not_json_streams_the_fallback_profile(server: InProcessServer) -> None:
    response = await create(server, {"name": "Garbled Rex", "species": "dog", "ageMonths": 30})
    pet_id, group = response.json()["petId"], response.json()["__motia"]["groupId"]
    async with GroupWatcher(server.ws_url, group) as w:
        await w.wait_for(lambda w: w.message("completed") is not None)
    assert w.message("completed") == msg.enrichment_completed_fallback("Garbled Rex")
    fallback = enrichment.unparseable_fallback("Garbled Rex", "dog")
    assert w.items["progress_bio"]["value"] == fallback["bio"]
    assert (await api(server, "GET", f"/pets/{pet_id}")).json()["profile"] == fallback


async def test_without_a_key_the_fallback_profile_is_streamed(server_without_key: InProcessServer) -> None:
    response = await create(server_without_key, {"name": "Milo", "species": "cat", "ageMonths": 14})
    pet_id, group = response.json()["petId"], response.json()["__motia"]["groupId"]
    async with GroupWatcher(server_without_key.ws_url, group) as w:
        await w.wait_for(done(msg.healthy_and_ready("Milo"), "available"))
    assert w.message("enrichment_started") == msg.enrichment_started("Milo")
    assert w.message("completed") == msg.enrichment_completed_fallback("Milo")
    assert created_at(w, *ENRICHMENT_ITEMS) == sorted(created_at(w, *ENRICHMENT_ITEMS))
    fallback = enrichment.error_fallback("Milo", "cat")
    assert fallback["breedGuess"] == "Domestic Shorthair" and fallback["temperamentTags"] == ["friendly", "adaptable"]
    for field in ("bio", "breedGuess", "temperamentTags", "adopterHints"):
        assert w.items[f"progress_{field}"]["value"] == fallback[field]
    assert (await api(server_without_key, "GET", f"/pets/{pet_id}")).json()["profile"] == fallback


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"name", "species", "ageMonths"}),
    ({"name": "  ", "species": "lizard", "ageMonths": "12"}, {"name", "species", "ageMonths"}),
    ({"name": "Rex", "species": "dog", "ageMonths": -1, "weightKg": 0}, {"ageMonths", "weightKg"}),
    ({"name": "Rex", "species": "dog", "ageMonths": 3, "colour": "brown"}, {"colour"}),
    ({"name": "Rex", "species": "dog", "ageMonths": 3, "symptoms": "cough"}, {"symptoms"}),
])
async def test_an_invalid_body_is_refused_with_400_naming_the_fields(server: InProcessServer, body: dict,
                                                                    fields: set[str]) -> None:
    response = await create(server, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "Validation error"
    assert {e["field"] for e in payload["errors"]} == fields


async def test_list_get_update_delete(server: InProcessServer) -> None:
    first = (await create(server, {"name": "Alpha", "species": "bird", "ageMonths": 5})).json()
    second = (await create(server, {"name": "Beta", "species": "other", "ageMonths": 50})).json()
    a, b = first["petId"], second["petId"]

    assert (await api(server, "GET", "/pets/nope")).status_code == 404
    assert (await api(server, "PUT", "/pets/nope", json={"notes": "x"})).status_code == 404
    assert (await api(server, "DELETE", "/pets/nope")).status_code == 404

    # A field change applies at once (200) and stamps the pet as updated after everything before
    # it. b's own lifecycle keeps writing in the background (feeding job, health check, status
    # progressions), so compare with b as read before the PUT rather than with the list's order.
    b_before = (await api(server, "GET", f"/pets/{b}")).json()["updatedAt"]
    patched = await api(server, "PUT", f"/pets/{a}", json={"notes": "Loves sunflower seeds", "ageMonths": 6})
    assert patched.status_code == 200
    assert (patched.json()["notes"], patched.json()["ageMonths"]) == ("Loves sunflower seeds", 6)
    assert patched.json()["updatedAt"] >= b_before
    listed = (await api(server, "GET", "/pets", params={"limit": 100})).json()["pets"]
    assert {a, b} <= {p["id"] for p in listed}
    stamps = [(p["createdAt"], p["id"]) for p in listed]  # newest first (tests/pets/test_pets_list.py)
    assert stamps == sorted(stamps, reverse=True)

    bad = await api(server, "PUT", f"/pets/{a}", json={"status": "sleeping", "ageMonths": "old"})
    assert bad.status_code == 400 and {e["field"] for e in bad.json()["errors"]} == {"status", "ageMonths"}

    # A status change is a request to the orchestrator (202); its outcome shows on the pet's group,
    # the one its creation returned, although this PUT runs under another trace id.
    async with GroupWatcher(server.ws_url, first["__motia"]["groupId"]) as w:
        await w.wait_for(lambda w: "available" in w.items)
        requested = await api(server, "PUT", f"/pets/{a}", json={"status": "pending"})
        assert requested.status_code == 202
        assert requested.json()["message"] == "Status change request submitted"
        assert requested.headers["x-trace-id"] != first["__motia"]["groupId"]
        await w.wait_for(lambda w: "pending" in w.items)
    assert w.message("pending") == msg.status_transition("available", "pending", "Adoption application received")
    assert (await api(server, "GET", f"/pets/{a}")).json()["status"] == "pending"

    # A change no rule allows from the current status is refused at once, naming what is allowed.
    refused = await api(server, "PUT", f"/pets/{a}", json={"status": "ill"})
    assert refused.status_code == 409
    assert refused.json()["allowed"] == ["adopted", "available"]
    assert refused.json()["error"] == "Illegal status change: pending → ill"
    assert (await api(server, "GET", f"/pets/{a}")).json()["status"] == "pending"

    # Soft delete: 202 with purgeAt 30 days on; the pet stays readable until the reaper runs.
    before = int(time.time() * 1000)
    deleted = await api(server, "DELETE", f"/pets/{b}")
    assert deleted.status_code == 202
    purge_at = deleted.json()["purgeAt"]
    assert before + 30 * 86_400_000 <= purge_at <= int(time.time() * 1000) + 30 * 86_400_000
    pet = (await api(server, "GET", f"/pets/{b}")).json()
    assert (pet["status"], pet["purgeAt"]) == ("deleted", purge_at)
    again = await api(server, "DELETE", f"/pets/{b}")
    assert again.json()["purgeAt"] == purge_at  # deleting again does not push the purge back


async def test_an_agent_picks_a_topic_from_the_models_json(server: InProcessServer, model_script: ModelScript) -> None:
    first = (await create(server, {"name": "Agent Smith", "species": "dog", "ageMonths": 40})).json()
    pet_id = first["petId"]
    async with GroupWatcher(server.ws_url, first["__motia"]["groupId"]) as w:
        await w.wait_for(lambda w: "available" in w.items and "completed" in w.items)

    model_script.agent_reply = json.dumps({"chosenEmit": "emit.adoption.ready",
                                           "rationale": "Complete profile, healthy, good with people."})
    response = await api(server, "POST", f"/pets/{pet_id}/adoption-review")
    assert response.status_code == 200
    body = response.json()
    assert body["emitFired"] == "adoption.ready"
    assert body["agentDecision"] == {"chosenEmit": "emit.adoption.ready", "source": "model", "model": "fake-pets",
                                     "rationale": "Complete profile, healthy, good with people."}
    assert body["cached"] is False
    assert body["availableEmits"] == ["emit.adoption.needs_data", "emit.adoption.ready"]

    # Asked again within 60 s for the same status: the cached decision, nothing emitted again.
    model_script.agent_reply = json.dumps({"chosenEmit": "emit.adoption.needs_data", "rationale": "changed mind"})
    cached = (await api(server, "POST", f"/pets/{pet_id}/adoption-review")).json()
    assert cached["cached"] is True and cached["agentDecision"] == body["agentDecision"]

    # The health agent: a garbage answer falls back to the rule (no symptoms → no treatment needed).
    model_script.agent_reply = "I think the pet is fine, probably?"
    health = await api(server, "POST", f"/pets/{pet_id}/health-review")
    assert health.status_code == 200
    decision = health.json()["agentDecision"]
    assert decision["source"] == "fallback" and decision["chosenEmit"] == "emit.health.no_treatment_needed"
    assert decision["rationale"].startswith("Fallback decision")
    assert health.json()["emitFired"] == "health.no_treatment_needed"

    assert (await api(server, "POST", "/pets/nope/health-review")).status_code == 404


async def test_agents_refuse_pets_in_the_wrong_status(server: InProcessServer) -> None:
    body = {"name": "Patch", "species": "dog", "ageMonths": 9, "symptoms": ["limping"]}
    created = (await create(server, body)).json()
    async with GroupWatcher(server.ws_url, created["__motia"]["groupId"]) as w:
        await w.wait_for(lambda w: "under_treatment" in w.items)
    response = await api(server, "POST", f"/pets/{created['petId']}/adoption-review")
    assert response.status_code == 400
    assert response.json()["currentStatus"] == "under_treatment"

"""The pet shelter's rules, agents, enrichment and reaper, run in-process on memory adapters.

Steps are called through ``motia_runtime.dispatch`` exactly as the hosts call them; events are
delivered one by one by an inline bus, so each test states the journey it expects step by step.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from functions.pets import ai, enrichment
from functions.pets import messages as msg
from functions.pets.store import DECISIONS, PROFILES, now_ms

from tests.pets.support import MemoryApp, model_profile
from tests.support.fake_openai import FakeOpenAI


@pytest.fixture(autouse=True)
def fast_and_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PET_STAGE_DELAY_MS", "0")
    monkeypatch.setenv("PET_FIELD_DELAY_MS", "0")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "PET_AI_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app() -> MemoryApp:
    return MemoryApp()


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(chunk_size=5, chunk_delay_s=0)
    fake.start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    yield fake
    fake.stop()


async def new_pet(app: MemoryApp, **body: Any) -> tuple[str, str]:
    """Create a pet through CreatePet; returns (pet id, stream group). Its events stay pending."""
    response = await app.call("CreatePet", {"name": "Rex", "species": "dog", "ageMonths": 12, **body})
    assert response.status == 201, response.body
    return response.body["petId"], response.body["__motia"]["groupId"]


async def set_status(app: MemoryApp, pet_id: str, status: str, **fields: Any) -> None:
    pet = await app.pet(pet_id)
    assert pet is not None
    await app.runtime.state.set("pets", pet_id, {**pet, "status": status, **fields})


# -- the whole journey --------------------------------------------------------------------------------
async def test_the_healthy_journey_event_by_event(app: MemoryApp) -> None:
    pet_id, group = await new_pet(app, name="Buddy")
    await app.bus.drain()
    assert app.bus.topics() == [
        "pet.created", "feeding.reminder.enqueued",       # CreatePet
        "feeding.reminder.completed",                     # the job, after the feeding setup
        "pet.quarantined",                                # the orchestrator: new → in_quarantine
        "pet.status.update.requested",                    # the job's health check: healthy
        "adoption.ready",                                 # the orchestrator: healthy → available (automatic)
    ]
    assert (await app.pet(pet_id))["status"] == "available"
    items = await app.group(group)
    assert items["message"]["message"] == msg.healthy_and_ready("Buddy")
    assert {"in_quarantine", "healthy", "available", "completed"} <= set(items)
    # The job never writes the status: only the orchestrator does (the tutorial's rule now fires).
    assert items["in_quarantine"]["message"] == msg.status_transition(
        "new", "in_quarantine", "Pet moved to quarantine after feeding setup")


async def test_the_job_does_not_set_the_status_itself(app: MemoryApp) -> None:
    pet_id, _ = await new_pet(app)
    await app.event("feeding.reminder.enqueued", {"petId": pet_id, "event": "feeding.reminder.enqueued"})
    pet = await app.pet(pet_id)
    assert pet["status"] == "new"
    assert pet["notes"].startswith("Welcome") and pet["nextFeedingAt"] > now_ms()


# -- the orchestrator's rules ----------------------------------------------------------------------------
async def test_a_health_agent_decision_is_streamed_to_the_pets_own_group(app: MemoryApp) -> None:
    pet_id, group = await new_pet(app, name="Scout", symptoms=["limping"])
    app.bus.pending.clear()
    await set_status(app, pet_id, "in_quarantine")

    response = await app.call("HealthReviewAgent", path_params={"id": pet_id}, trace_id="AGENT-1")
    assert response.status == 200
    decision = response.body["agentDecision"]
    assert decision["chosenEmit"] == "emit.health.treatment_required" and decision["source"] == "fallback"
    assert "symptoms reported: limping" in decision["rationale"]
    assert "OPENAI_API_KEY is not set" in decision["rationale"]
    await app.bus.drain()

    assert app.bus.topics() == ["health.treatment_required", "treatment.required"]
    assert (await app.pet(pet_id))["status"] == "under_treatment"
    items = await app.group(group)
    assert items["ill"]["message"] == msg.status_transition(
        "in_quarantine", "ill", "Agent assessment - pet requires medical treatment")
    assert items["under_treatment"]["message"] == msg.automatic_transition(
        "ill", "under_treatment", "Automatic progression - treatment started")
    assert await app.group("AGENT-1") == {}  # nothing went to the agent request's own trace group


async def test_recovery_chains_automatic_progressions_with_their_side_emits(app: MemoryApp) -> None:
    pet_id, group = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "under_treatment")

    response = await app.call("UpdatePet", {"status": "recovered"}, {"id": pet_id})
    assert response.status == 202
    await app.bus.drain()

    assert (await app.pet(pet_id))["status"] == "available"
    assert app.bus.topics() == ["pet.status.update.requested", "treatment.completed", "adoption.ready"]
    items = await app.group(group)
    assert items["recovered"]["message"] == msg.status_transition(
        "under_treatment", "recovered", "Staff assessment - treatment completed")
    assert items["healthy"]["message"] == msg.automatic_transition(
        "recovered", "healthy", "Automatic progression - recovery complete")
    assert items["available"]["message"] == msg.automatic_transition(
        "healthy", "available", "Automatic progression - pet ready for adoption")


async def test_a_transition_no_rule_allows_is_refused_with_the_allowed_targets(app: MemoryApp) -> None:
    pet_id, group = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "available")
    response = await app.call("UpdatePet", {"status": "adopted"}, {"id": pet_id})
    assert response.status == 409
    assert response.body == {"error": "Illegal status change: available → adopted", "petId": pet_id,
                             "currentStatus": "available", "requestedStatus": "adopted",
                             "allowed": ["ill", "pending"]}
    assert app.bus.pending == []  # nothing reaches the orchestrator
    assert (await app.pet(pet_id))["status"] == "available"
    assert set(await app.group(group)) == {"message"}


async def test_the_orchestrator_rejects_a_request_the_status_moved_past(app: MemoryApp) -> None:
    # A request accepted from one status, handled after the pet moved on: the orchestrator's own
    # check refuses it and writes nothing.
    pet_id, group = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "available")
    assert (await app.call("UpdatePet", {"status": "pending"}, {"id": pet_id})).status == 202
    await set_status(app, pet_id, "ill")
    await app.bus.drain()
    assert (await app.pet(pet_id))["status"] == "ill"
    assert set(await app.group(group)) == {"message"}


async def test_needs_data_adds_the_flag_and_the_guard_then_blocks_adoption(app: MemoryApp) -> None:
    pet_id, group = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "healthy")

    await app.event("adoption.needs_data", {"petId": pet_id, "event": "adoption.needs_data"})
    pet = await app.pet(pet_id)
    assert (pet["status"], pet["flags"]) == ("healthy", ["needs_data"])
    assert (await app.group(group))["flags"]["message"] == msg.flag_added(
        "needs_data", "Agent assessment - pet needs additional data before adoption")

    await app.event("adoption.ready", {"petId": pet_id, "event": "adoption.ready"})
    assert (await app.pet(pet_id))["status"] == "healthy"  # blocked by no_needs_data_flag
    assert app.bus.pending == []

    await app.runtime.state.set("pets", pet_id, {**await app.pet(pet_id), "flags": []})
    await app.event("adoption.ready", {"petId": pet_id, "event": "adoption.ready"})
    assert (await app.pet(pet_id))["status"] == "available"
    assert app.bus.pending == []  # adoption.ready is not emitted again: the posting already got it


async def test_a_repeated_event_changes_nothing(app: MemoryApp) -> None:
    pet_id, _ = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "available")
    before = await app.pet(pet_id)
    await app.event("adoption.ready", {"petId": pet_id, "event": "adoption.ready"})
    await app.event("feeding.reminder.completed", {"petId": pet_id, "event": "feeding.reminder.completed"})
    assert await app.pet(pet_id) == before
    assert app.bus.pending == []


# -- agents ----------------------------------------------------------------------------------------------
async def test_the_agent_uses_the_models_choice_and_caches_it(app: MemoryApp, model: FakeOpenAI) -> None:
    pet_id, _ = await new_pet(app, name="Nala")
    app.bus.pending.clear()
    await set_status(app, pet_id, "healthy")
    # A bare topic name is accepted as well as the registry id.
    model.reply = json.dumps({"chosenEmit": "adoption.needs_data", "rationale": "No photos yet."})

    first = await app.call("AdoptionReviewAgent", path_params={"id": pet_id})
    assert first.body["agentDecision"]["chosenEmit"] == "emit.adoption.needs_data"
    assert first.body["agentDecision"]["source"] == "model"
    [request] = model.requests
    assert request["response_format"] == {"type": "json_object"} and request["model"] == ai.DEFAULT_MODEL
    assert "emit.adoption.ready" in request["messages"][1]["content"]
    assert [e.topic for e in app.bus.pending] == ["adoption.needs_data"]
    assert app.bus.pending[0].message_group_id == pet_id

    second = await app.call("AdoptionReviewAgent", path_params={"id": pet_id})
    assert second.body["cached"] is True and len(model.requests) == 1 and len(app.bus.pending) == 1

    # A decision is only reused for the status it was made in.
    await set_status(app, pet_id, "available")
    third = await app.call("AdoptionReviewAgent", path_params={"id": pet_id})
    assert third.body["cached"] is False and len(model.requests) == 2

    # And only for 60 s.
    entry = await app.runtime.state.get(DECISIONS, f"{pet_id}:adoption-review")
    await app.runtime.state.set(DECISIONS, f"{pet_id}:adoption-review", {**entry, "decidedAt": now_ms() - 61_000})
    assert (await app.call("AdoptionReviewAgent", path_params={"id": pet_id})).body["cached"] is False


@pytest.mark.parametrize("reply", [
    json.dumps({"chosenEmit": "emit.adoption.delete_everything", "rationale": "why not"}),
    json.dumps({"chosenEmit": "emit.adoption.ready"}),
    "not json",
])
async def test_an_unusable_model_answer_falls_back_to_the_rule(app: MemoryApp, model: FakeOpenAI, reply: str) -> None:
    pet_id, _ = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "healthy")
    model.reply = reply
    body = (await app.call("AdoptionReviewAgent", path_params={"id": pet_id})).body
    # No profile yet: the rule asks for more data.
    assert body["agentDecision"]["source"] == "fallback"
    assert body["agentDecision"]["chosenEmit"] == "emit.adoption.needs_data"
    assert "missing: bio, breedGuess, temperamentTags, adopterHints" in body["agentDecision"]["rationale"]


async def test_an_api_error_falls_back_too(app: MemoryApp, model: FakeOpenAI) -> None:
    pet_id, _ = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "available")
    model.fail_with = 503
    body = (await app.call("HealthReviewAgent", path_params={"id": pet_id})).body
    assert body["agentDecision"]["source"] == "fallback"
    assert body["agentDecision"]["chosenEmit"] == "emit.health.no_treatment_needed"
    assert "InternalServerError" in body["agentDecision"]["rationale"] or "503" in body["agentDecision"]["rationale"]


async def test_a_slow_model_falls_back_within_the_api_budget(app: MemoryApp, model: FakeOpenAI,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pet_id, _ = await new_pet(app)
    app.bus.pending.clear()
    await set_status(app, pet_id, "available")
    # The module the loaded steps use (a CloudSim test earlier in the run may have re-imported it).
    monkeypatch.setattr(importlib.import_module("functions.pets.agents"), "DECISION_BUDGET_S", 0.2)
    model.reply = lambda body: (time.sleep(1), json.dumps({"chosenEmit": "x", "rationale": "late"}))[1]
    started = time.monotonic()
    body = (await app.call("HealthReviewAgent", path_params={"id": pet_id})).body
    assert time.monotonic() - started < 0.9
    assert body["agentDecision"]["source"] == "fallback" and "TimeoutError" in body["agentDecision"]["rationale"]


# -- enrichment --------------------------------------------------------------------------------------------
async def test_enrichment_saves_and_streams_the_models_profile(app: MemoryApp, model: FakeOpenAI) -> None:
    model.reply = json.dumps(model_profile("Coco"))
    pet_id, group = await new_pet(app, name="Coco", species="bird", ageMonths=3)
    await app.event("pet.created", {"petId": pet_id, "event": "pet.created"})
    [request] = model.requests
    assert request["stream"] is True and "- Name: Coco" in request["messages"][1]["content"]
    assert (await app.runtime.state.get(PROFILES, pet_id)) == {"petId": pet_id, **model_profile("Coco")}
    items = await app.group(group)
    assert items["completed"]["message"] == msg.enrichment_completed("Coco")
    assert items["progress_temperamentTags"]["value"] == ["gentle", "curious", "playful"]


async def test_enrichment_after_an_api_error_saves_the_fallback(app: MemoryApp, model: FakeOpenAI) -> None:
    model.fail_with = 500
    pet_id, group = await new_pet(app, name="Ziggy", species="cat")
    await app.event("pet.created", {"petId": pet_id, "event": "pet.created"})
    profile = (await app.call("GetPet", path_params={"id": pet_id})).body["profile"]
    assert profile == enrichment.error_fallback("Ziggy", "cat")
    assert (await app.group(group))["completed"]["message"] == msg.enrichment_completed_fallback("Ziggy")


# -- the reaper ---------------------------------------------------------------------------------------------
async def test_the_reaper_purges_pets_whose_purge_date_passed(app: MemoryApp) -> None:
    gone, _ = await new_pet(app, name="Old")
    kept_deleted, _ = await new_pet(app, name="Recent")
    alive, _ = await new_pet(app, name="Alive")
    app.bus.pending.clear()
    for pet_id in (gone, kept_deleted):
        assert (await app.call("DeletePet", path_params={"id": pet_id})).status == 202
    await set_status(app, gone, "deleted", purgeAt=now_ms() - 1)
    await app.runtime.state.set(PROFILES, gone, {"petId": gone, **model_profile("Old")})

    await app.cron("DeletionReaper")

    assert await app.pet(gone) is None
    assert await app.runtime.state.get(PROFILES, gone) is None
    assert (await app.pet(kept_deleted))["status"] == "deleted"
    assert (await app.pet(alive))["status"] == "new"
    assert (await app.call("GetPet", path_params={"id": gone})).status == 404
    assert app.bus.pending == []  # the reaper emits nothing (no topic without a consumer)


# -- the JSON field watcher ----------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_the_field_watcher_reports_each_field_when_its_value_completes(chunk: int) -> None:
    value = {"bio": 'Says "hi", {braces} and [brackets] too', "age": 3, "tags": ["a", "b,c"],
             "nested": {"x": [1, {"y": "}"}]}, "done": True}
    text = "```json\n" + json.dumps(value, indent=2) + "\n```"
    watcher = ai.JsonFieldWatcher()
    seen: list[tuple[str, Any]] = []
    for i in range(0, len(text), chunk):
        seen += watcher.feed(text[i:i + chunk])
    assert seen == list(value.items())
    assert ai.parse_json_object(watcher.text) == value


def test_the_field_watcher_reports_a_string_field_before_the_next_key_arrives() -> None:
    watcher = ai.JsonFieldWatcher()
    assert watcher.feed('{"bio": "A good dog') == []
    assert watcher.feed('"') == [("bio", "A good dog")]
    assert watcher.feed(', "breedGuess"') == []

"""The pet shelter on simulated AWS (moto): the same steps through the real Lambda entry points.

``motia_runtime.testing.CloudSim`` builds the app's resources from its SAM template and plays
API Gateway, EventBridge → SQS (FIFO for the orchestrator), DynamoDB Streams → fan-out, and the
WebSocket API; the frames checked here are what was posted to the client's connection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from functions.pets import enrichment
from functions.pets import messages as msg

from tests.pets.support import REPO, ModelScript, model_profile
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow
testing = pytest.importorskip("motia_runtime.testing")


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PET_STAGE_DELAY_MS", "0")
    monkeypatch.setenv("PET_FIELD_DELAY_MS", "0")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "PET_AI_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim(fast: None) -> Iterator[Any]:
    with testing.CloudSim(REPO) as cloud:  # the template's defaults: no OpenAI key
        yield cloud


def replay(frames: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """A group subscriber's items, and each item's successive message texts, from the frames."""
    items: dict[str, dict[str, Any]] = {}
    history: dict[str, list[str]] = defaultdict(list)

    def record(item: dict[str, Any]) -> None:
        items[item["id"]] = item
        if not history[item["id"]] or history[item["id"]][-1] != item["message"]:
            history[item["id"]].append(item["message"])

    for frame in frames:
        event = frame["event"]
        if event["type"] == "sync":
            for item in sorted(event["data"], key=lambda i: i["_createdAt"]):
                record(item)
        elif event["type"] in ("create", "update"):
            record(event["data"])
    return items, history


def create_and_watch(sim: Any, body: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]], dict[str, list[str]]]:
    response = sim.http("POST", "/pets", json=body)
    assert response.status == 201, response.body
    item = response.json()
    group = item["__motia"]["groupId"]
    client = sim.connect()
    client.join("petCreation", group)
    sim.run_until_idle()
    items, history = replay(client.frames_of("petCreation", group))
    return item["petId"], items, history


def test_a_healthy_pet_on_aws(fast: None) -> None:
    model = FakeOpenAI(reply=ModelScript(), chunk_size=9, chunk_delay_s=0).start()
    # The model's address reaches the functions as a deploy would set it (a template parameter
    # declared in pyproject.toml [tool.motia] environment), the key as a deploy keeps it: in SSM
    # Parameter Store ([tool.motia.secrets]), read by each function when it starts.
    parameters = {"EnvOpenaiBaseUrl": model.base_url}
    try:
        with testing.CloudSim(REPO, parameters=parameters) as sim:
            sim.client("ssm").put_parameter(Name="/motia-app/openai-api-key", Value="sk-test", Type="SecureString")
            pet_id, items, history = create_and_watch(sim, {"name": "Buddy", "species": "dog", "ageMonths": 24})
            pet = sim.http("GET", f"/pets/{pet_id}").json()
    finally:
        model.stop()

    assert history["message"] == [
        msg.created("Buddy", pet_id, "dog", 24, "new"),
        msg.entered_quarantine("Buddy"),
        msg.health_check_passed("Buddy"),
        msg.healthy_and_ready("Buddy"),
    ]
    assert [items[s]["message"] for s in ("in_quarantine", "healthy", "available")] == [
        msg.status_transition("new", "in_quarantine", "Pet moved to quarantine after feeding setup"),
        msg.status_transition("in_quarantine", "healthy", "Staff health check - pet cleared from quarantine"),
        msg.automatic_transition("healthy", "available", "Automatic progression - pet ready for adoption"),
    ]
    assert items["completed"]["message"] == msg.enrichment_completed("Buddy")
    assert pet["status"] == "available"
    assert pet["profile"] == model_profile("Buddy")


def test_a_pet_with_symptoms_on_aws(sim: Any) -> None:
    pet_id, items, history = create_and_watch(sim, {"name": "Luna", "species": "cat", "ageMonths": 8,
                                                    "symptoms": ["coughing"]})
    assert history["message"] == [
        msg.created("Luna", pet_id, "cat", 8, "new"),
        msg.entered_quarantine("Luna"),
        msg.health_check_failed("Luna", ["coughing"]),
        msg.needs_treatment("Luna"),
    ]
    assert items["ill"]["message"] == msg.status_transition(
        "in_quarantine", "ill", "Staff assessment - pet identified as ill")
    assert items["under_treatment"]["message"] == msg.automatic_transition(
        "ill", "under_treatment", "Automatic progression - treatment started")
    assert "available" not in items
    assert items["completed"]["message"] == msg.enrichment_completed_fallback("Luna")
    pet = sim.http("GET", f"/pets/{pet_id}").json()
    assert pet["status"] == "under_treatment"
    assert pet["profile"] == enrichment.error_fallback("Luna", "cat")

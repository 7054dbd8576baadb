"""The pet shelter as it runs on AWS, without AWS: CloudSim drives the real Lambda entry points on moto."""

from pathlib import Path

import pytest

from motia_runtime.testing import CloudSim

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PET_STAGE_DELAY_MS", "0")
    monkeypatch.setenv("PET_FIELD_DELAY_MS", "0")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_a_pet_with_symptoms_goes_under_treatment_on_simulated_aws() -> None:
    with CloudSim(ROOT) as cloud:
        response = cloud.http("POST", "/pets", json={"name": "Luna", "species": "cat", "ageMonths": 8,
                                                     "symptoms": ["coughing"]})
        assert response.status_code == 201, response.text
        item = response.json()
        ws = cloud.connect()  # a WebSocket client of API Gateway, joined to the pet's group
        ws.join("petCreation", item["__motia"]["groupId"])
        cloud.run_until_idle()  # EventBridge -> SQS -> Lambda, DynamoDB stream -> fan-out
        ids = {frame["event"]["data"]["id"] for frame in ws.frames_of("petCreation", item["__motia"]["groupId"])
               if frame["event"]["type"] in ("create", "update")}
        assert {"ill", "under_treatment", "completed"} <= ids
        assert cloud.http("GET", f"/pets/{item['petId']}").json()["status"] == "under_treatment"

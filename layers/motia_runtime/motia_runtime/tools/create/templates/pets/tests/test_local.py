"""The pet shelter on the local host, the one `make dev` serves, run in this process."""

import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from motia_runtime.hosts.local.app import create_app
from motia_runtime.hosts.local.settings import DevSettings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PET_STAGE_DELAY_MS", "0")  # no pauses between the stages
    monkeypatch.setenv("PET_FIELD_DELAY_MS", "0")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the fallback profile, no network


def test_a_healthy_pet_becomes_available(tmp_path: Path) -> None:
    app = create_app(DevSettings(root=ROOT, data_dir=tmp_path))  # its SQLite in a fresh folder
    with TestClient(app, base_url="http://127.0.0.1:3000") as client:
        created = client.post("/pets", json={"name": "Buddy", "species": "dog", "ageMonths": 24})
        assert created.status_code == 201, created.text
        pet_id = created.json()["petId"]
        deadline = time.monotonic() + 20
        pet: dict[str, Any] = {}
        while time.monotonic() < deadline:  # the event steps run after the response
            pet = client.get(f"/pets/{pet_id}").json()
            if pet["status"] == "available":
                break
            time.sleep(0.1)
        assert pet["status"] == "available"
        refused = client.post("/pets", json={"name": "Rex", "species": "dragon", "ageMonths": 3})
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "species"

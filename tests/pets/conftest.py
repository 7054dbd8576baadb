"""Fixtures of the pet shelter tests: ``motia dev``'s app on real sockets in this process (with and
without a model, tests/support/inprocess.py) and a fake model.

The server with a model is module-scoped, and each test works on its own pets; the one without is
built for its test only, since it takes the OpenAI variables out of the shared environment.
Stage pauses are shortened with ``PET_STAGE_DELAY_MS`` (the tutorial's 1 s would make a pet's
journey take seconds) but kept long enough for a client to join the group before the first stage.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pets.support import REPO, ModelScript
from tests.support.fake_openai import FakeOpenAI
from tests.support.inprocess import InProcessServer

STAGE_DELAY_MS = 300
FAST = {"PET_STAGE_DELAY_MS": str(STAGE_DELAY_MS), "PET_FIELD_DELAY_MS": "10"}


@pytest.fixture(scope="module")
def model_script() -> ModelScript:
    return ModelScript()


@pytest.fixture(scope="module")
def fake_model(model_script: ModelScript) -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(reply=model_script, chunk_size=7, chunk_delay_s=0.005).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake_model: FakeOpenAI) -> Iterator[InProcessServer]:
    """``motia dev`` on the repository's project, with the fake model as its OpenAI."""
    env = {**FAST, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_model.base_url, "PET_AI_MODEL": "fake-pets"}
    dev = InProcessServer(REPO, tmp_path_factory.mktemp("pets-data"), env=env).start()
    yield dev
    dev.stop()


@pytest.fixture
def server_without_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    dev = InProcessServer(REPO, tmp_path_factory.mktemp("pets-nokey"), env=FAST).start()
    yield dev
    dev.stop()

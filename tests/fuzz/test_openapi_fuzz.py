"""schemathesis against the OpenAPI document ``motia dev`` serves: no 5xx, and the server lives on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dev_server import REPO
from tests.support.inprocess import InProcessServer

ST = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    # Short pauses keep the pet shelter's background stages from piling up under the fuzzer.
    env = {"PET_STAGE_DELAY_MS": "5", "PET_FIELD_DELAY_MS": "1"}
    dev = InProcessServer(REPO, tmp_path_factory.mktemp("fuzz"), env=env).start()
    yield dev
    dev.stop()


def test_the_served_document_matches_motia_openapi(server: InProcessServer) -> None:
    served = httpx.get(f"{server.url}/openapi.json").json()
    written = subprocess.run([sys.executable, "-m", "motia_runtime", "openapi", "--root", str(REPO)],
                             capture_output=True, text=True, check=True).stdout
    assert served["openapi"] == "3.1.0"
    assert served == httpx.Response(200, text=written).json()
    assert {"/pets", "/pets/{id}", "/open-ai"} <= set(served["paths"])


def test_fuzzing_every_api_step_finds_no_server_error(server: InProcessServer) -> None:
    result = subprocess.run(
        [str(ST), "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "25", "--generation-deterministic", "--request-timeout", "10",
         "--phases", "examples,coverage,fuzzing"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert httpx.get(f"{server.url}/__motia/health").status_code == 200

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.inprocess import InProcessServer

APP = Path(__file__).parent / "app"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    dev = InProcessServer(APP, tmp_path_factory.mktemp("motia-data")).start()
    yield dev
    dev.stop()


@pytest.fixture
def http(server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.project import write_project
from tests.support.inprocess import InProcessServer


@pytest.fixture(scope="session")
def project_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("client-project"))


@pytest.fixture(scope="session")
def server(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """One ``motia dev`` app for all client tests; each test uses its own group ids."""
    dev = InProcessServer(project_root, tmp_path_factory.mktemp("client-data")).start()
    yield dev
    dev.stop()


@pytest.fixture
def group() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"

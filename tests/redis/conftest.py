"""Fixtures for the Redis tests: a real ``redis-server`` (see server.py) and the test app."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .server import RedisServer

APP = Path(__file__).parent / "app"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server for the tests that keep to their own key prefix."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """``start_redis(persist=False, password=None, unix_socket=False)``: a server of the test's own, for tests
    that stop it or that run ``motia dev`` (whose keys and channel are not prefixed per test)."""
    servers: list[RedisServer] = []

    def start(persist: bool = False, password: str | None = None, unix_socket: bool = False) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", persist=persist, password=password,
                             unix_socket=unix_socket).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()

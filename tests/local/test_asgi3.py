"""The local host's outer middlewares are ASGI 3 apps in their own right: served by uvicorn as the
outermost app (``--interface auto``, as ``motia dev`` serves a project that does not load under
reload: app.py), over a real socket on loopback. Their ``__call__`` returns the next app's
coroutine rather than being one (hosts/local/asgi3.py says why)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from motia_runtime.hosts.local.body_limit import BodyLimit
from motia_runtime.hosts.local.trust import TrustBoundary
from tests.support.uvicorn_thread import serving


async def echo_length(scope: dict[str, Any], receive: Any, send: Any) -> None:
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(app: Any) -> Iterator[str]:
    with serving(app) as server:
        assert server.config.interface == "asgi3"  # what uvicorn concluded from the app itself
        yield f"http://127.0.0.1:{server.config.port}"


@pytest.fixture
def trust_url() -> Iterator[str]:
    yield from serve(TrustBoundary(echo_length, hosts={"127.0.0.1"}, cors_origins=("*",)))


@pytest.fixture
def body_url() -> Iterator[str]:
    yield from serve(BodyLimit(echo_length, max_bytes=100))


def test_the_trust_boundary_serves_as_uvicorns_own_app(trust_url: str) -> None:
    assert httpx.post(trust_url, content=b"abc").text == "3"
    refused = httpx.get(trust_url, headers={"host": "evil.example"})
    assert refused.status_code == 403 and "evil.example" in refused.json()["error"]


def test_the_body_limit_serves_as_uvicorns_own_app(body_url: str) -> None:
    assert httpx.post(body_url, content=b"x" * 100).text == "100"
    refused = httpx.post(body_url, content=b"x" * 101)
    assert refused.status_code == 413 and "the limit is 100 bytes" in refused.json()["error"]

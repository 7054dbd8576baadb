"""hosts/local/api_front.py: a plain request for an API step at a static path skips the middleware
stack, and gets the same answer (status, headers, body) the full stack gives it; every request the
stack would refuse or change (wrong Host, an Origin, a body over the limit, chunked) still goes
through it. Over real HTTP on loopback, the short way in switched on and off in the same server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from motia_runtime.hosts.local.api_front import LocalApp
from tests.support.inprocess import InProcessServer

APP = Path(__file__).parent / "guard_app"  # POST /echo answers the body it was given
LIMIT = 64


def _requests() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(what the short way in serves, what only the full stack answers), afresh: chunked bodies are read once."""
    plain: list[dict[str, Any]] = [
        dict(method="POST", url="/echo", json={"a": 1, "b": [1, 2]}),
        dict(method="POST", url="/echo", content=b'{"a": ', headers={"content-type": "application/json"}),  # 400
        dict(method="POST", url="/echo?x=1&x=2&y=3", content=b"plain text", headers={"content-type": "text/plain"}),
        dict(method="POST", url="/echo"),  # no body at all
        dict(method="POST", url="/echo", content=b"x" * LIMIT),  # at the limit exactly
    ]
    stack: list[dict[str, Any]] = [
        dict(method="POST", url="/echo", content=b"x" * (LIMIT + 1)),  # 413 before the body is read
        dict(method="POST", url="/echo", json={"a": 1}, headers={"host": "evil.example:3000"}),  # 403
        dict(method="POST", url="/echo", json={"a": 1}, headers={"origin": "http://localhost:5173"}),  # CORS
        dict(method="OPTIONS", url="/echo", headers={"origin": "http://localhost:5173",  # preflight
                                                     "access-control-request-method": "POST"}),
        dict(method="GET", url="/echo"),  # 405
        dict(method="POST", url="/echo", content=iter([b'{"a": ', b"1}"])),  # chunked
        dict(method="POST", url="/echo", content=iter([b"y" * 40, b"y" * 40])),  # chunked, over the limit: 413
    ]
    return plain, stack


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    dev = InProcessServer(APP, tmp_path_factory.mktemp("front-data"), env={"MOTIA_MAX_BODY_BYTES": str(LIMIT)}).start()
    yield dev
    dev.stop()


def _answer(client: httpx.Client, request: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    response = client.request(**request)
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in ("date", "x-trace-id")]
    return response.status_code, headers, response.content


def test_the_short_way_in_answers_as_the_full_stack(server: InProcessServer) -> None:
    assert server._server is not None
    app = server._server.config.app
    assert isinstance(app, LocalApp) and ("/echo", "POST") in app._fast
    seen: list[str] = []
    stack = app.middleware_stack or app.build_middleware_stack()

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await stack(scope, receive, send)

    app.middleware_stack = counted
    fast_table = app._fast
    with httpx.Client(base_url=server.url, timeout=10) as client:
        plain, stack_only = _requests()
        fast = [_answer(client, r) for r in plain + stack_only]
        assert len(seen) == len(stack_only)  # only those went through the stack
        app._fast = {}
        try:
            plain, stack_only = _requests()
            full = [_answer(client, r) for r in plain + stack_only]
        finally:
            app._fast = fast_table
    assert len(seen) == len(stack_only) + len(plain + stack_only)
    assert fast == full
    statuses = [status for status, _, _ in fast]
    assert statuses == [200, 400, 200, 200, 200, 413, 403, 200, 200, 405, 200, 413]
    assert ("vary", "Origin") in fast[0][1]


@pytest.mark.parametrize("head", [
    b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # the short way in
    b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://localhost:5173\r\n",  # the full stack
    b"PUT /__motia/state/g/k HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # the Workbench's API
], ids=["short-way", "full-stack", "workbench"])
def test_a_client_gone_in_the_middle_of_its_body_is_no_server_error(server: InProcessServer, head: bytes) -> None:
    # A tab closed during an upload, a killed curl: each one logged "Exception in ASGI
    # application" and a 30-line ClientDisconnect traceback, as if the server had failed.
    before = server.logs()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head + b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"a\": ")
        time.sleep(0.3)  # the server is waiting for the rest of the body
    time.sleep(0.5)
    added = server.logs()[len(before):]
    assert "Traceback" not in added and "Exception in ASGI application" not in added, added
    with httpx.Client(base_url=server.url, timeout=10) as client:  # and the server goes on
        assert client.post("/echo", json={"a": 1}).status_code == 200

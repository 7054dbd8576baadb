"""Limits, loudly: request bodies over MOTIA_MAX_BODY_BYTES get 413 (JSON; the AWS entry:
tests/aws/test_cloud_limits.py), stream items and events over MAX_ITEM_BYTES fail at the call,
and CORS origins are configurable."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from motia_runtime.adapters.memory import MemoryStreamStore
from motia_runtime.config import StreamConfig
from motia_runtime.errors import ItemTooLargeError
from motia_runtime.streams import MAX_ITEM_BYTES, Stream
from tests.local.conftest import APP
from tests.support.inprocess import InProcessServer

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    env = {"MOTIA_MAX_BODY_BYTES": str(LIMIT), "MOTIA_CORS_ORIGINS": "https://app.example, https://admin.example"}
    dev = InProcessServer(APP, tmp_path_factory.mktemp("limits-data"), env=env).start()
    yield dev
    dev.stop()


def test_a_body_over_the_limit_is_a_413_with_a_json_error(limited: InProcessServer) -> None:
    with httpx.Client(base_url=limited.url, timeout=10) as http:
        ok = http.post("/items/g/a", json={"op": "set", "data": {"label": "x" * (LIMIT - 100)}})
        assert ok.status_code == 200
        big = http.post("/items/g/a", json={"op": "set", "data": {"label": "x" * LIMIT}})
        assert big.status_code == 413
        error = big.json()["error"]
        assert error.startswith("Request body too large") and "MOTIA_MAX_BODY_BYTES" in error

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"op": "set", "data": {"label": "'
            for _ in range(20):
                yield b"x" * 8192
            yield b'"}}'

        chunked = http.post("/items/g/a", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413 and "too large" in chunked.json()["error"]
        assert http.get("/__motia/health").status_code == 200


def test_a_lying_content_length_is_refused_before_the_body_is_read(limited: InProcessServer) -> None:
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as sock:
        sock.sendall(b"POST /items/g/a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10000000000\r\n\r\n{")
        answer = b""
        while chunk := sock.recv(4096):  # the server closes: the unread body is not waited for
            answer += chunk
        answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413") and '"error"' in answer


def test_cors_allows_only_the_configured_origins(limited: InProcessServer) -> None:
    with httpx.Client(base_url=limited.url, timeout=10) as http:
        def preflight(origin: str) -> httpx.Response:
            return http.options("/items/g/a", headers={"origin": origin, "access-control-request-method": "POST"})

        allowed = preflight("https://app.example")
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://app.example"
        refused = preflight("https://evil.example")
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        simple = http.post("/items/g/b", json={"op": "set", "data": {"label": "y"}},
                           headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


def test_a_cross_site_page_cannot_send_json_without_a_preflight(limited: InProcessServer) -> None:
    # A page may send a form-encoded or untyped body without a CORS preflight: when it looked like
    # JSON it was read as JSON, so a page of an origin MOTIA_CORS_ORIGINS leaves out could still
    # run the step with a body of its choosing (CSRF). A browser names JSON when it sends it.
    payload = b'{"op": "set", "data": {"label": "forged"}}'
    with httpx.Client(base_url=limited.url, timeout=10) as http:
        for content_type in ("application/x-www-form-urlencoded", None):
            headers = {"origin": "https://evil.example"} | ({"content-type": content_type} if content_type else {})
            forged = http.post("/items/csrf/a", content=payload, headers=headers)
            assert forged.status_code == 400, (content_type, forged.text)  # the body is text, not the schema's object
        assert http.get("/__motia/streams/items/groups/csrf").json()["items"] == []
        # curl -d (form-encoded, no Origin) is still read as JSON
        curl = http.post("/items/csrf/b", content=payload,
                         headers={"content-type": "application/x-www-form-urlencoded"})
        assert curl.status_code == 200, curl.text
        named = http.post("/items/csrf/c", content=payload,
                          headers={"origin": "https://app.example", "content-type": "application/json"})
        assert named.status_code == 200, named.text


async def test_items_and_events_over_the_limit_fail_at_the_call() -> None:
    stream = Stream(StreamConfig(name="s", schema={"type": "object"}), MemoryStreamStore())
    with pytest.raises(ItemTooLargeError, match=f"{MAX_ITEM_BYTES}-byte limit"):
        await stream.set("g", "a", {"blob": "x" * MAX_ITEM_BYTES})
    with pytest.raises(ItemTooLargeError, match="event"):
        await stream.send({"groupId": "g"}, {"type": "t", "data": "x" * MAX_ITEM_BYTES})
    assert await stream.get("g", "a") is None

"""Both of uvicorn's HTTP protocols, with the head deadline (hosts/local/head_timeout.py), under a
real uvicorn server on loopback: ``motia dev`` uses the httptools one when httptools is installed
(tests/local/test_socket_limits.py covers it end to end), the h11 one otherwise."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from motia_runtime.hosts.local.head_timeout import HeadTimeoutH11Protocol, HeadTimeoutHttpToolsProtocol
from tests.support.fake_openai import free_port
from tests.support.raw_socket import seconds_until_closed

TIMEOUT_S = 1


async def ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(params=[HeadTimeoutH11Protocol, HeadTimeoutHttpToolsProtocol], ids=["h11", "httptools"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    if request.param is None:
        pytest.skip("httptools is not installed")
    # The deadline is a class attribute (head_timeout.protocol_class makes one per value).
    protocol = type("Quick", (request.param,), {"head_timeout_s": TIMEOUT_S})
    number = free_port()
    server = uvicorn.Server(uvicorn.Config(ok, host="127.0.0.1", port=number, http=protocol, lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield number
    server.should_exit = True
    thread.join(10)


def test_a_half_sent_upgrade_is_closed_and_a_whole_request_is_answered(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        assert TIMEOUT_S * 0.8 <= seconds_until_closed(sock, TIMEOUT_S + 5) <= TIMEOUT_S + 3
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT_S * 1.5)  # an answered request: the deadline is off until the next one begins
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET / HTTP/1.1\r\n")  # the next one, half sent
        assert TIMEOUT_S * 0.8 <= seconds_until_closed(sock, TIMEOUT_S + 5) <= TIMEOUT_S + 3


def test_a_head_begun_while_an_earlier_heads_timer_is_pending_gets_its_own_whole_deadline(port: int) -> None:
    # One timer per connection, set when none is pending: the second head below begins while the
    # timer set for the first is still pending, and must still be given its own full deadline.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT_S * 0.6)
        sock.sendall(b"GET / HTTP/1.1\r\n")  # half sent, 0.6 of a deadline after the first began
        assert TIMEOUT_S * 0.8 <= seconds_until_closed(sock, TIMEOUT_S + 5) <= TIMEOUT_S + 3

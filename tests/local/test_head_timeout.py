"""Both of uvicorn's HTTP protocols, with the head deadline (hosts/local/head_timeout.py), under a
real uvicorn server on loopback: ``motia dev`` uses the httptools one when httptools is installed
(tests/local/test_socket_limits.py covers it end to end), the h11 one otherwise."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from motia_runtime.hosts.local.head_timeout import HeadTimeoutH11Protocol, HeadTimeoutHttpToolsProtocol
from tests.support.raw_socket import seconds_until_closed
from tests.support.uvicorn_thread import serving

TIMEOUT_S = 1


async def ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] == "/late":  # an app slow to take the body: the server stops reading meanwhile
        await asyncio.sleep(TIMEOUT_S * 2.5)
    while (await receive()).get("more_body"):  # the whole body first, as an API step reads it
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


PARSERS = pytest.mark.parametrize("parser", [HeadTimeoutH11Protocol, HeadTimeoutHttpToolsProtocol],
                                  ids=["h11", "httptools"])


@pytest.fixture(params=[HeadTimeoutH11Protocol, HeadTimeoutHttpToolsProtocol], ids=["h11", "httptools"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    yield from _serve(request.param, TIMEOUT_S)


@pytest.fixture
def patient_port(parser: type | None) -> Iterator[int]:
    """A server whose head deadline is far away: what refuses a head here is its size."""
    yield from _serve(parser, 60)


def _serve(parser: type | None, timeout_s: int) -> Iterator[int]:
    if parser is None:
        pytest.skip("httptools is not installed")
    # The deadline is a class attribute (head_timeout.protocol_class makes one per value).
    protocol = type("Quick", (parser,), {"head_timeout_s": timeout_s})
    with serving(ok, http=protocol) as server:
        yield server.config.port


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


def test_a_stalled_body_is_closed_and_a_slow_steady_one_is_served(port: int) -> None:
    # Headers whole, then a body that stops: the connection was held for ever, as a half-sent
    # head was before the deadline (enough of them exhaust the server's file descriptors).
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        assert TIMEOUT_S * 0.8 <= seconds_until_closed(sock, TIMEOUT_S + 5) <= TIMEOUT_S + 3
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 6\r\n\r\n")
        for _ in range(6):  # 6 bytes over 3 deadlines, each within one of the last
            time.sleep(TIMEOUT_S * 0.5)
            sock.sendall(b"x")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT_S * 1.5)  # answered: nothing is awaited from the client any more
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def test_a_body_the_app_is_slow_to_take_is_not_a_stall(port: int) -> None:
    # Past 64 KiB unread by the app, uvicorn stops reading: the client is then waiting on the
    # server, and its body must not be cut for the time the app took.
    body = b"x" * (4 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /late HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def _answer(sock: socket.socket) -> bytes:
    """What the server sends before it closes ``sock``."""
    sock.settimeout(10)
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except ConnectionResetError:
        pass
    return out


@PARSERS
def test_a_head_over_the_size_bound_is_refused_and_one_within_it_served(parser: type | None, patient_port: int) -> None:
    # uvicorn's httptools protocol kept every header it was sent: one connection made the server
    # hold 2.6 GB within the head deadline. Both now refuse a head still unfinished past 16 KiB
    # (h11's bound for an unfinished event).
    with socket.create_connection(("127.0.0.1", patient_port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 12_000 + b"\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", patient_port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 900) for i in range(40)))  # 36 KB, not ended
        answer = _answer(sock)
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:200]
    if parser is HeadTimeoutHttpToolsProtocol:  # ours says what the bound is (h11's is uvicorn's plain 400)
        assert answer.startswith(b"HTTP/1.1 431") and b"16384 bytes" in answer, answer


@PARSERS
def test_an_endless_header_is_cut_off_long_before_the_deadline(parser: type | None, patient_port: int) -> None:
    # One header value that never ends: httptools gathers it inside the parser, before any
    # callback of uvicorn's sees it, so the bound has to count the bytes read.
    sent = 0
    with socket.create_connection(("127.0.0.1", patient_port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
        started = time.monotonic()
        try:
            while sent < 64 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        else:
            pytest.fail(f"the server read a 64 MiB header in {time.monotonic() - started:.1f} s")
    assert sent < 16 * 1024 * 1024  # refused after about one read past 16 KiB, whatever the kernel had buffered

"""A deadline and a size bound on every HTTP request head, WebSocket handshakes included, and a
deadline on each wait for more of a request body.

uvicorn times out only an idle keep-alive connection (``timeout_keep_alive``, armed after a
response): a connection that sends nothing, or half a request line and headers (a WebSocket
upgrade that never ends, a slowloris), is held open for ever, and enough of them exhaust the
server's file descriptors. These are uvicorn's two HTTP protocols with a timer from the first
byte a request could start with (the connection opening, then each new request on a
keep-alive connection) to its last header: a head that has not arrived whole by then gets the
connection closed. A request body may take as long as it needs, but not stall: a body left
unfinished by a read must go on within the same deadline (counted again from each read), else the
connection is closed, as a half-sent head is. The wait is not counted while the server itself has
stopped reading (uvicorn pauses a connection whose app has not yet taken 64 KiB it was sent). An
open WebSocket is not bounded here (it has its keepalive pings).

The deadline is the settings' ``Limits.header_timeout_s`` (``MOTIA_HEADER_TIMEOUT_S``, default
10 s). The CLI passes uvicorn the class for the parser it would pick itself (httptools when
installed, which ``uvicorn[standard]`` does, else h11) by an import string that carries the
deadline in its name (``HeadTimeout10sProtocol``): uvicorn's worker processes import the class by
name, so the deadline reaches them without another environment variable.

The size: uvicorn's h11 protocol refuses (400) a head still unfinished past 16 KiB (h11's bound on
an unfinished event, uvicorn's ``h11_max_incomplete_event_size``), but its httptools protocol keeps
every byte of the request line and headers, and httptools gathers a header's value inside the
parser before any callback sees it: one connection streaming one endless header made the server
hold 2.6 GB within the deadline. The httptools protocol here counts the bytes read while a head
is unfinished and answers 431 (JSON, naming the bound) past the same figure.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
from typing import Any

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE  # as uvicorn's h11 protocol imports it
from uvicorn.protocols.http.h11_impl import H11Protocol

from ...limits import DEFAULTS
from .closing import server_closing

DEFAULT_HEADER_TIMEOUT_S = DEFAULTS.header_timeout_s
_PREFIX, _SUFFIX = "HeadTimeout", "sProtocol"


class _HeadDeadline:
    """The deadline both protocols share; ``transport`` is the protocol's own.

    A head's start is noted (``_arm_head_timer``) and its end clears it (``_cancel_head_timer``);
    a loop timer is set only when none is pending, and when it fires it closes the connection if
    the head in progress began a whole deadline ago, else sets itself for that head's deadline
    (or for none, if no head is in progress). A keep-alive connection's requests thus cost no
    timer each: arming and cancelling one per request was ~2 % of a ``GET``'s CPU on the server
    (bench/optimisations.md, round 2). A head is still cut at its own deadline. The same timer
    serves a body's wait (``_body_waiting``, noted after each read that leaves a body unfinished)."""

    transport: asyncio.Transport
    flow: Any  # uvicorn's FlowControl: read_paused while the app has not taken what was read
    _head_timer: asyncio.TimerHandle | None = None
    _head_since: float | None = None
    _body_since: float | None = None  # the last read of a body still unfinished
    head_timeout_s: int = DEFAULT_HEADER_TIMEOUT_S  # protocol_class() makes one with another

    def _arm_head_timer(self) -> None:
        if self._head_since is None:
            loop = asyncio.get_running_loop()
            self._head_since = loop.time()
            if self._head_timer is None:
                self._head_timer = loop.call_at(self._head_since + self.head_timeout_s, self._head_check)

    def _cancel_head_timer(self) -> None:
        self._head_since = None

    def _body_waiting(self) -> None:
        """A read left a request body unfinished: the next of its bytes is due within the deadline."""
        loop = asyncio.get_running_loop()
        self._body_since = loop.time()
        if self._head_timer is None:
            self._head_timer = loop.call_at(self._body_since + self.head_timeout_s, self._head_check)

    def _stop_head_timer(self) -> None:
        self._head_since = self._body_since = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_check(self) -> None:
        self._head_timer = None
        loop = asyncio.get_running_loop()
        if self._body_since is not None and self.flow.read_paused:
            self._body_since = loop.time()  # the server stopped reading, not the client sending
        waits = [since for since in (self._head_since, self._body_since) if since is not None]
        if not waits:
            return  # no head or body in progress: set again when the next one begins
        due = min(waits) + self.head_timeout_s
        if loop.time() < due:
            self._head_timer = loop.call_at(due, self._head_check)  # a later head or read than it was set for
        elif not self.transport.is_closing():
            self.transport.close()


class HeadTimeoutH11Protocol(_HeadDeadline, H11Protocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # h11 is IDLE until a request's head has been parsed whole (and again after each response).
        state = self.conn.their_state
        if state is h11.IDLE and data:
            self._arm_head_timer()
        else:
            self._cancel_head_timer()
        if state is h11.SEND_BODY:
            self._body_waiting()
        elif self._body_since is not None:
            self._body_since = None

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._stop_head_timer()  # the connection is the WebSocket's now: no timer keeps this protocol
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        server_closing()  # SSE streams end their responses, or the shutdown would wait for them
        super().shutdown()


def _httptools_protocol() -> type | None:
    if importlib.util.find_spec("httptools") is None:
        return None
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadTimeoutHttpToolsProtocol(_HeadDeadline, HttpToolsProtocol):
        _head_bytes = 0  # read while the head in progress was unfinished
        _completed = 0  # requests whose last byte has been read on this connection
        _in_body = False  # from a head's end to its request's last byte

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_head_timer()

        def data_received(self, data: bytes) -> None:
            completed = self._completed
            super().data_received(data)
            # Counted only when no request ended within this read (so none of it was an earlier
            # request's): a pipelined head may pass the bound by one read, never more.
            if self._head_since is not None and self._completed == completed:
                self._head_bytes += len(data)
                if self._head_bytes > _max_head_bytes(self.config) and not self.transport.is_closing():
                    self._refuse_head()
            if self._in_body:
                self._body_waiting()
            elif self._body_since is not None:
                self._body_since = None

        def _refuse_head(self) -> None:
            bound = _max_head_bytes(self.config)
            body = json.dumps({"error": f"Request head too large: the request line and headers are over "
                                        f"{bound} bytes"}).encode()
            head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
            head += [b"%s: %s\r\n" % (name, value) for name, value in self.server_state.default_headers]
            head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
                        % len(body))
            self.transport.write(b"".join(head) + body)
            self.transport.close()

        def on_message_begin(self) -> None:  # the first byte of the next request on the connection
            super().on_message_begin()
            self._head_bytes = 0
            self._arm_head_timer()

        def on_message_complete(self) -> None:
            self._completed += 1
            self._in_body = False
            super().on_message_complete()

        def on_headers_complete(self) -> None:  # before a WebSocket upgrade hands the transport over
            self._cancel_head_timer()
            self._in_body = True
            super().on_headers_complete()

        def handle_websocket_upgrade(self) -> None:
            self._stop_head_timer()  # the connection is the WebSocket's now: no timer keeps this protocol
            self._in_body = False
            super().handle_websocket_upgrade()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def shutdown(self) -> None:
            server_closing()  # SSE streams end their responses, or the shutdown would wait for them
            super().shutdown()

    return HeadTimeoutHttpToolsProtocol


def _max_head_bytes(config: Any) -> int:
    """The bound uvicorn's h11 protocol puts on an unfinished head, for the same server."""
    configured = config.h11_max_incomplete_event_size
    return configured if configured is not None else DEFAULT_MAX_INCOMPLETE_EVENT_SIZE


HeadTimeoutHttpToolsProtocol = _httptools_protocol()


@functools.cache
def protocol_class(timeout_s: int = DEFAULT_HEADER_TIMEOUT_S) -> type[_HeadDeadline]:
    """The protocol class with a deadline of ``timeout_s`` on each request head (one per value)."""
    base: type[_HeadDeadline] = HeadTimeoutHttpToolsProtocol or HeadTimeoutH11Protocol
    name = f"{_PREFIX}{timeout_s}{_SUFFIX}"
    # Named as this module's attribute (see __getattr__), so it also pickles by name.
    return type(name, (base,), {"head_timeout_s": timeout_s, "__module__": __name__, "__qualname__": name})


def protocol_name(timeout_s: int = DEFAULT_HEADER_TIMEOUT_S) -> str:
    """The import string of the protocol class uvicorn should use (workers import it by name)."""
    return f"{__name__}:{protocol_class(timeout_s).__name__}"


def __getattr__(name: str) -> type[_HeadDeadline]:
    # ``HeadTimeout{N}sProtocol``: the class protocol_name(N) names, made on first import.
    digits = name[len(_PREFIX):-len(_SUFFIX)] if name.startswith(_PREFIX) and name.endswith(_SUFFIX) else ""
    if digits.isdigit() and int(digits) >= 1:
        return protocol_class(int(digits))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

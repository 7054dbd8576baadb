"""A deadline on every HTTP request head, WebSocket handshakes included.

uvicorn times out only an idle keep-alive connection (``timeout_keep_alive``, armed after a
response): a connection that sends nothing, or half a request line and headers (a WebSocket
upgrade that never ends, a slowloris), is held open for ever, and enough of them exhaust the
server's file descriptors. These are uvicorn's two HTTP protocols with a timer from the first
byte a request could start with (the connection opening, then each new request on a
keep-alive connection) to its last header: a head that has not arrived whole by then gets the
connection closed. Only the head is bounded; a body and an open WebSocket are not (the latter
has its keepalive pings).

The deadline is the settings' ``Limits.header_timeout_s`` (``MOTIA_HEADER_TIMEOUT_S``, default
10 s). The CLI passes uvicorn the class for the parser it would pick itself (httptools when
installed, which ``uvicorn[standard]`` does, else h11) by an import string that carries the
deadline in its name (``HeadTimeout10sProtocol``): uvicorn's worker processes import the class by
name, so the deadline reaches them without another environment variable.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
from typing import Any

import h11
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
    (bench/optimisations.md, round 2). A head is still cut at its own deadline."""

    transport: asyncio.Transport
    _head_timer: asyncio.TimerHandle | None = None
    _head_since: float | None = None
    head_timeout_s: int = DEFAULT_HEADER_TIMEOUT_S  # protocol_class() makes one with another

    def _arm_head_timer(self) -> None:
        if self._head_since is None:
            loop = asyncio.get_running_loop()
            self._head_since = loop.time()
            if self._head_timer is None:
                self._head_timer = loop.call_at(self._head_since + self.head_timeout_s, self._head_check)

    def _cancel_head_timer(self) -> None:
        self._head_since = None

    def _stop_head_timer(self) -> None:
        self._head_since = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_check(self) -> None:
        self._head_timer = None
        if self._head_since is None:
            return  # no head in progress: set again when the next one begins
        loop = asyncio.get_running_loop()
        due = self._head_since + self.head_timeout_s
        if loop.time() < due:
            self._head_timer = loop.call_at(due, self._head_check)  # a later head than the one it was set for
        elif not self.transport.is_closing():
            self.transport.close()


class HeadTimeoutH11Protocol(_HeadDeadline, H11Protocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # h11 is IDLE until a request's head has been parsed whole (and again after each response).
        if self.conn.their_state is h11.IDLE and data:
            self._arm_head_timer()
        else:
            self._cancel_head_timer()

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
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_head_timer()

        def on_message_begin(self) -> None:  # the first byte of the next request on the connection
            super().on_message_begin()
            self._arm_head_timer()

        def on_headers_complete(self) -> None:  # before a WebSocket upgrade hands the transport over
            self._cancel_head_timer()
            super().on_headers_complete()

        def handle_websocket_upgrade(self) -> None:
            self._stop_head_timer()  # the connection is the WebSocket's now: no timer keeps this protocol
            super().handle_websocket_upgrade()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def shutdown(self) -> None:
            server_closing()  # SSE streams end their responses, or the shutdown would wait for them
            super().shutdown()

    return HeadTimeoutHttpToolsProtocol


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

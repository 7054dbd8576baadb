"""Writing one change's WebSocket frame to many connections without an ASGI send per connection.

A stream change goes to every subscriber as the same text frame. Sent through ASGI, each copy is
built again (Starlette, uvicorn, the websockets protocol: ~20 µs of Python per connection here)
before the write itself; the hub instead encodes the frame's bytes once (:func:`text_frame`: a
server frame is never masked, and permessage-deflate is not negotiated) and writes them to each
connection that has nothing queued or being sent, falling back to its outbox and ASGI send
otherwise. With 1,000 subscribers that halved the delay to the slowest one (bench/RESULTS.md).

:class:`FrameWriterProtocol` is uvicorn's sans-I/O WebSocket protocol plus that write, offered to
the app as the ASGI extension ``motia.websocket.write_frame``: a synchronous call that writes the
bytes and returns True only when the connection is open and its transport is not paused (so
backpressure still holds: a paused connection gets its frames through its outbox, in order).

Checking all that on every write was a fifth of the fan-out's CPU with 1,000 subscribers (py-spy,
bench/optimisations.md), so the protocol also offers ``motia.websocket.frame_wire``: the app hands
it a listener (the hub's connection) and the protocol tells it, through ``set_wire``, the
transport whenever direct writes are allowed and None when they stop being allowed.
The state those checks read changes only inside the protocol's entry points (the transport's
callbacks, the ASGI send, the keepalive timer, the server's shutdown), so the answer is worked out
again after each of them, not per frame.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

WRITE_FRAME = "motia.websocket.write_frame"
FRAME_WIRE = "motia.websocket.frame_wire"


class Wire(Protocol):
    def write(self, data: bytes) -> None: ...


class WireListener(Protocol):
    def set_wire(self, wire: Wire | None) -> None: ...


def text_frame(text: str) -> bytes:
    """An unmasked, final, uncompressed text frame (RFC 6455 §5.2) carrying ``text``."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class FrameWriterProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol offering :meth:`write_frame` to the app.

    It reads attributes of uvicorn's class that are not a public API (pinned below 1.0 in
    pyproject.toml). Should a release rename them, :meth:`write_frame` answers False and every
    frame takes the ordinary ASGI send: slower, never wrong; tests/local/test_frame_writer.py
    fails so the upgrade is noticed.
    """

    _listener: WireListener | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # not set when the handshake was refused
            extensions = scope.setdefault("extensions", {})
            extensions[WRITE_FRAME] = self.write_frame
            extensions[FRAME_WIRE] = self.listen
        self._tell()

    def _writable(self) -> bool:
        try:
            # An extension (e.g. compression, when deflate is turned on) changes the framing
            # every frame must follow: leave those to the websockets library.
            return not (not self.handshake_complete or self.close_sent or self.initial_response is not None
                        or self.conn.state is not State.OPEN or not self.writable.is_set()
                        or self.transport.is_closing() or self.conn.extensions)
        except AttributeError:
            return False

    def write_frame(self, frame: bytes) -> bool:
        if not self._writable():
            return False
        self.transport.write(frame)
        return True

    def listen(self, listener: WireListener | None) -> None:
        """From now on tell ``listener`` (None: nobody) whether frames may be written directly."""
        self._listener = listener
        self._tell()

    def _tell(self) -> None:
        listener = self._listener
        if listener is not None:
            listener.set_wire(self.transport if self._writable() else None)

    # Every entry point that can change what _writable() reads tells the listener afterwards.
    def connection_lost(self, exc: Exception | None) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.set_wire(None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        try:
            super().data_received(data)
        finally:
            self._tell()

    def pause_writing(self) -> None:
        super().pause_writing()
        self._tell()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._tell()

    def shutdown(self) -> None:
        try:
            super().shutdown()
        finally:
            self._tell()

    def keepalive_timeout(self) -> None:
        try:
            super().keepalive_timeout()
        finally:
            self._tell()

    async def send(self, message: Any) -> None:
        try:
            await super().send(message)
        finally:
            self._tell()

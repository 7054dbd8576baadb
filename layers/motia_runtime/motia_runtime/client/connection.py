"""``StreamClient``: one WebSocket to a Motia-protocol server, shared by all subscriptions.

What it adds over Motia's clients (which retry every 2 s forever and say nothing):

* reconnects with jittered exponential backoff (``Backoff``) and, once open again, re-joins
  every live subscription; the server answers each join with a ``sync`` that replaces the
  subscription's state, so after any outage the state is the server's current state. The
  rejoin carries ``since``: custom events sent while the client was away are replayed (once:
  repeats are dropped by ``eventId``), or, past the server's replay window, a ``resync`` event
  says some were missed (``on_resync``);
* an observable ``status`` (``connecting`` → ``open`` → ``reconnecting`` → ... → ``closed``,
  or ``failed``) with ``on_status`` callbacks and ``wait_for_status``;
* a refused handshake (HTTP 401/403) or a close with 1008 (policy violation) raises
  ``StreamAuthError`` on ``connect()`` and on every subscription, and stops: the same token
  would be refused again;
* error frames for a join (``STREAM_NOT_FOUND``, ``STREAM_ACCESS_DENIED``, ``SUBSCRIPTION_LIMIT``) fail that
  subscription with ``StreamSubscriptionError`` instead of passing as an ordinary event.

The token travels as Motia's browser client sends it: ``Sec-WebSocket-Protocol:
Authorization, <token>``; ``auth_token`` may be a function called before each connection attempt.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from ..errors import MotiaError, StreamAuthError, StreamConnectionError, StreamSubscriptionError
from .backoff import Backoff
from .frames import Room, client_event_frame, join_frame, leave_frame, parse_server_frame
from .subscription import RESYNC, GroupSubscription, ItemSubscription, StreamSubscription, _call

log = logging.getLogger("motia_runtime.client")
_Sub = TypeVar("_Sub", bound=StreamSubscription[Any])
# A fixed token, or a function called before every connection attempt (sync or async): a
# minted stream token expires (15 min by default), so a reconnect after that needs a new one.
AuthToken = str | Callable[[], str | Awaitable[str | None] | None] | None

POLICY_VIOLATION = 1008  # what our local host closes with when ``authenticate`` refuses
AUTH_HTTP_STATUSES = (401, 403)  # Motia answers 401; Starlette turns a close-before-accept into 403


class ConnectionStatus(enum.StrEnum):
    CONNECTING = "connecting"  # first attempt
    OPEN = "open"
    RECONNECTING = "reconnecting"  # lost, or not reached yet: waiting for the next attempt
    CLOSED = "closed"  # closed by us
    FAILED = "failed"  # gave up: credentials refused, or connect() could not reach the server


# The base URL a user has at hand is the HTTP one (``motia dev`` prints it, the Workbench is on
# it); the stream socket answers on the same host and port, so it is taken as the socket's.
_SOCKET_SCHEMES = {"http": "ws", "https": "wss"}


def websocket_url(url: str) -> str:
    """``url`` with ``http://`` / ``https://`` turned into ``ws://`` / ``wss://``; else unchanged."""
    parts = urlsplit(url.strip())
    scheme = _SOCKET_SCHEMES.get(parts.scheme.lower())
    return urlunsplit(parts._replace(scheme=scheme)) if scheme else url


class StreamClient:
    def __init__(self, url: str, auth_token: AuthToken = None, *, backoff: Backoff | None = None,
                 open_timeout: float = 10.0, max_frame_bytes: int = 64 * 1024 * 1024) -> None:
        self.url = websocket_url(url)
        self.auth_token = auth_token
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout
        self.max_frame_bytes = max_frame_bytes
        self.status = ConnectionStatus.CONNECTING
        self.error: MotiaError | None = None  # why the last attempt failed, or why we gave up
        self.connections = 0  # how many times a connection was opened (1 + reconnects)
        self.next_retry_s: float | None = None
        self._subs: dict[Room, list[StreamSubscription[Any]]] = {}
        self._status_listeners: list[Callable[[ConnectionStatus], Any]] = []
        self._status_changed = asyncio.Event()
        self._outbox: asyncio.Queue[str] | None = None  # set while a connection is open
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._wake = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------
    async def connect(self, timeout: float | None = None) -> StreamClient:
        """Open the connection. The first failure raises (``StreamAuthError`` for refused
        credentials, ``StreamConnectionError`` otherwise); once open, drops are retried."""
        self._start(first_attempt_fatal=True)
        status = await self.wait_for_status(ConnectionStatus.OPEN, ConnectionStatus.FAILED, ConnectionStatus.CLOSED,
                                            timeout=timeout)
        if status is ConnectionStatus.FAILED and self.error is not None:
            raise self.error
        return self

    async def close(self) -> None:
        """Close the connection and end every subscription; no reconnect."""
        self._closing = True
        self._wake.set()
        ws = self._ws
        if ws is not None:
            await ws.close()
        if self._runner is not None:
            # It may be in the middle of a handshake or a backoff sleep: no need to wait those out.
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
        for sub in self._all_subs():
            sub._end()
        self._subs.clear()
        if self.status is not ConnectionStatus.FAILED:
            self._set_status(ConnectionStatus.CLOSED)

    async def __aenter__(self) -> StreamClient:
        return await self.connect()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- status --------------------------------------------------------------------------------
    def on_status(self, fn: Callable[[ConnectionStatus], Any]) -> Callable[[], None]:
        """Call ``fn(status)`` on every status change; returns a function that removes it."""
        self._status_listeners.append(fn)
        return lambda: self._status_listeners.remove(fn) if fn in self._status_listeners else None

    async def wait_for_status(self, *statuses: ConnectionStatus, timeout: float | None = None) -> ConnectionStatus:
        async def wait() -> ConnectionStatus:
            while self.status not in statuses:
                self._status_changed.clear()
                await self._status_changed.wait()
            return self.status

        return await asyncio.wait_for(wait(), timeout)

    def _set_status(self, status: ConnectionStatus) -> None:
        if status is self.status:
            return
        self.status = status
        self._status_changed.set()
        for fn in list(self._status_listeners):
            _call(fn, status)

    # -- subscriptions ---------------------------------------------------------------------------
    def subscribe_item(self, stream: str, group: str, id: str, *, presence: Any = None) -> ItemSubscription:
        """``presence``: this client's state in the group's presence list (a stream with presence)."""
        sub = ItemSubscription(self, stream, group, id)
        sub.presence_state = presence
        return self._add(sub)

    def subscribe_group(self, stream: str, group: str, sort_key: str | None = None, *,
                        presence: Any = None) -> GroupSubscription:
        """``presence``: this client's state in the group's presence list (a stream with presence)."""
        sub = GroupSubscription(self, stream, group, sort_key)
        sub.presence_state = presence
        return self._add(sub)

    def _send_event(self, sub: StreamSubscription[Any], type: str, data: Any) -> None:
        if self._outbox is None:
            raise StreamConnectionError("not connected: a client event is not kept for later (it is ephemeral)")
        self._outbox.put_nowait(client_event_frame(sub.wire, type, data))

    def _add(self, sub: _Sub) -> _Sub:
        if self._closing:
            raise StreamConnectionError("this StreamClient is closed")
        if self.status is ConnectionStatus.FAILED and self.error is not None:
            sub._fail(self.error)
            return sub
        self._subs.setdefault(sub.room, []).append(sub)
        if self._outbox is not None:
            self._outbox.put_nowait(join_frame(sub.wire, presence=sub.presence_state))
        # Subscribing without connect() first works too; then a refused first attempt is retried,
        # as Motia's clients do.
        self._start(first_attempt_fatal=False)
        return sub

    async def _leave(self, sub: StreamSubscription[Any]) -> None:
        self._forget(sub)
        if self._outbox is not None:
            self._outbox.put_nowait(leave_frame(sub.wire))

    def _forget(self, sub: StreamSubscription[Any]) -> None:
        subs = self._subs.get(sub.room, [])
        if sub in subs:
            subs.remove(sub)
        if not subs:
            self._subs.pop(sub.room, None)

    def _all_subs(self) -> list[StreamSubscription[Any]]:
        return [sub for subs in self._subs.values() for sub in subs]

    # -- the connection loop -------------------------------------------------------------------------
    def _start(self, first_attempt_fatal: bool) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(first_attempt_fatal), name=f"motia-stream-client {self.url}")

    def _give_up(self, error: MotiaError) -> None:
        self.error = error
        for sub in self._all_subs():
            sub._fail(error)
        self._subs.clear()
        self._set_status(ConnectionStatus.FAILED)

    async def _run(self, first_attempt_fatal: bool) -> None:
        attempt = 0
        while not self._closing:
            token: str | None = None
            try:
                token = await self._token()
                ws = await connect(self.url, subprotocols=self._subprotocols(token), open_timeout=self.open_timeout,
                                   max_size=self.max_frame_bytes)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in AUTH_HTTP_STATUSES:
                    self._give_up(StreamAuthError(f"{self.url} refused the connection: HTTP {status} "
                                                  f"({'bad or missing' if token is None else 'bad'} token)"))
                    return
                error: MotiaError = StreamConnectionError(f"{self.url} answered the handshake with HTTP {status}")
            except InvalidURI as exc:
                self._give_up(StreamConnectionError(f"not a WebSocket URL: {exc}"))
                return
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, EOFError) as exc:
                error = StreamConnectionError(f"cannot connect to {self.url}: {exc or type(exc).__name__}")
            except StreamConnectionError as exc:  # the token function failed: retried like a drop
                error = exc
            else:
                opened_at = time.monotonic()
                code, reason = await self._serve(ws)
                if self._closing:
                    break
                if code == POLICY_VIOLATION:
                    self._give_up(StreamAuthError(f"{self.url} closed the connection: 1008 {reason or 'unauthorized'}"))
                    return
                error = StreamConnectionError(f"connection to {self.url} lost (close code {code} {reason})".strip())
                if time.monotonic() - opened_at >= self.backoff.reset_after:
                    attempt = 0
            self.error = error
            if first_attempt_fatal and self.connections == 0:
                self._give_up(error)
                return
            self.next_retry_s = self.backoff.delay(attempt)
            attempt += 1
            log.info("%s; retrying in %.2fs", error, self.next_retry_s)
            self._set_status(ConnectionStatus.RECONNECTING)
            await self._sleep(self.next_retry_s)

    async def _token(self) -> str | None:
        if self.auth_token is None or isinstance(self.auth_token, str):
            return self.auth_token
        try:
            token = self.auth_token()
            return await token if inspect.isawaitable(token) else token
        except Exception as exc:  # its service may be down for a moment, as the server may be
            raise StreamConnectionError(f"the auth_token function raised {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _subprotocols(token: str | None) -> list[Subprotocol] | None:
        if token is None:
            return None
        return [Subprotocol("Authorization"), Subprotocol(token)]

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def _serve(self, ws: ClientConnection) -> tuple[int | None, str]:
        """Run one open connection until it closes; returns its close code and reason."""
        self._ws = ws
        self.connections += 1
        self.error = None
        self.next_retry_s = None
        outbox: asyncio.Queue[str] = asyncio.Queue()
        # Re-join everything: each join is answered with a fresh sync that replaces the state,
        # which is how changes made while we were away reach us; ``since`` (the last stamp the
        # subscription saw) has the custom events sent meanwhile replayed, or a ``resync`` sent.
        for sub in self._all_subs():
            since = sub._rejoining()
            outbox.put_nowait(join_frame(sub.wire, since, sub.presence_state))
        self._outbox = outbox
        self._set_status(ConnectionStatus.OPEN)
        # One writer per connection keeps join/leave frames in the order they were asked for.
        writer = asyncio.create_task(self._write(ws, outbox))
        try:
            async for raw in ws:
                self._dispatch(raw)
        except ConnectionClosed:
            pass
        finally:
            self._outbox = None
            self._ws = None
            writer.cancel()
        return ws.close_code, ws.close_reason or ""

    @staticmethod
    async def _write(ws: ClientConnection, outbox: asyncio.Queue[str]) -> None:
        try:
            while True:
                await ws.send(await outbox.get())
        except ConnectionClosed:
            pass  # the read loop sees the close and reconnects; joins are re-sent then

    def _dispatch(self, raw: str | bytes) -> None:
        frame = parse_server_frame(raw)
        if frame is None:
            log.debug("ignoring a frame that is not Motia's protocol: %.200r", raw)
            return
        if frame.is_error:
            # An error answers a join: it fails the subscriptions of exactly that room that are
            # waiting for their sync; a live one in the same room was allowed earlier.
            data = frame.data if isinstance(frame.data, dict) else {}
            error = StreamSubscriptionError(str(data.get("code", "ERROR")), str(data.get("message", "")))
            for sub in list(self._subs.get((frame.stream, frame.group, frame.id), [])):
                if sub.status == "pending":
                    self._forget(sub)
                    sub._fail(error)
                else:  # a live one's refused client event (rate, schema, can_send): on_event("error")
                    sub._deliver(frame)
            return
        # Motia's routing: a frame with an id reaches that item's subscriptions and, unless it is
        # the item's sync, the group's subscriptions too.
        targets = list(self._subs.get((frame.stream, frame.group, frame.id), []))
        # A resync answers one subscription's rejoin, like a sync: it is not the group's news.
        if frame.id is not None and frame.kind != "sync" and frame.event_type != RESYNC:
            targets += self._subs.get((frame.stream, frame.group, None), [])
        for sub in targets:
            sub._deliver(frame)

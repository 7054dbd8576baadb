"""API Gateway's WebSocket API in front of the functions, on a real socket (``websockets``).

- A handshake for a ``Host`` the gate does not admit (local_only.py: DNS rebinding) is refused
  with 403 before ``$connect`` runs; any ``Origin`` is accepted, as by API Gateway.
- ``$connect``: the handshake waits for the route's function, given the request's headers and
  query string; a non-2xx answer (or an error) refuses the handshake with that status, and the
  ``Sec-WebSocket-Protocol`` header it returns is the subprotocol the server answers.
- Each message is routed by the API's ``RouteSelectionExpression`` (``$request.body.<field>``)
  to its route, else ``$default``; with neither, API Gateway's ``Forbidden`` message comes back.
  A connection's messages are invoked one after the other, in the order they arrived.
- A message over 128 KB closes the connection with 1009 (API Gateway's message limit); a
  connection idle for ``idle_timeout_s`` (10 minutes on AWS) is closed with 1001.
- Closing invokes ``$disconnect``. The Management API (``testing.websocket.FrameRecorder`` with
  this as its sink) posts to the socket, closes it, and answers 410 once it is gone.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ..testing import lambda_events as ev
from .lambda_pool import Invocation
from .template import WebSocketApi

if TYPE_CHECKING:
    from .local_only import Gate

MAX_MESSAGE = 128 * 1024
IDLE_TIMEOUT_S = 600.0
# How long a handshake may wait for the $connect function: API Gateway's integration timeout (29 s),
# not websockets' default of 10 s, which refused the socket while a cold start ran on a loaded machine.
CONNECT_TIMEOUT_S = 29.0

Invoke = Callable[[str, dict[str, Any]], Awaitable[Invocation]]


@dataclass
class _Connection:
    id: str
    socket: Any
    connected_at: int
    source_ip: str
    user_agent: str
    last_active: float = field(default_factory=time.time)


def select_route(expression: str, body: str | bytes, routes: dict[str, str]) -> str | None:
    """The route key a message takes: ``$request.body.a.b`` read from its JSON, else ``$default``
    (None when there is no ``$default`` either)."""
    key: Any = None
    if isinstance(body, str):
        try:
            key = json.loads(body)
            for part in [p for p in expression[len("$request.body"):].split(".") if p]:
                key = key.get(part) if isinstance(key, dict) else None
        except (ValueError, RecursionError):
            key = None
    if isinstance(key, str | int | float | bool) and str(key) in routes and not str(key).startswith("$"):
        return str(key)
    return "$default" if "$default" in routes else None


class WebSocketGateway:
    """Serve with ``serve(host, port)``; also the Management API's sink (``post``/``delete``/``info``)."""

    def __init__(self, api: WebSocketApi, invoke: Invoke, *, api_id: str, region: str,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, gate: Gate | None = None) -> None:
        self.api = api
        self.gate = gate
        self.invoke = invoke
        self.api_id = api_id
        self.region = region
        self.idle_timeout_s = idle_timeout_s
        self._connections: dict[str, _Connection] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._disconnects: set[asyncio.Task[Any]] = set()

    # -- the socket side -------------------------------------------------------------------------
    async def serve(self, host: str, port: int) -> Any:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        return await serve(self._handle, host, port, process_request=self._connect,
                           select_subprotocol=self._subprotocol, max_size=MAX_MESSAGE, compression=None,
                           ping_interval=None, server_header=None, open_timeout=CONNECT_TIMEOUT_S)

    def _event_args(self) -> dict[str, Any]:
        return {"api_id": self.api_id, "stage": self.api.stage, "region": self.region}

    async def _connect(self, connection: Any, request: Any) -> Any:
        hosts = request.headers.get_all("Host")  # two Host headers: no host
        if self.gate is not None and not self.gate.admits_host("websocket-api", hosts[0] if len(hosts) == 1 else ""):
            return connection.respond(403, "Forbidden\n")
        connection_id = base64.b64encode(secrets.token_bytes(11)).decode().replace("/", "_").replace("+", "-")
        query = dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
        headers: dict[str, str] = {}
        for name, value in request.headers.raw_items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        protocols = [p.strip() for p in headers.pop("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        event = ev.ws_connect(connection_id, **self._event_args(), subprotocols=protocols or None,
                              query=query or None, headers=headers)
        address = connection.remote_address or ("127.0.0.1", 0)
        event["requestContext"]["identity"] = {"sourceIp": address[0], "userAgent": headers.get("User-Agent", "")}
        # What the handshake's later hooks need (select_subprotocol, the handler) rides on the
        # connection object websockets passes to each of them.
        connection.motia_id = connection_id
        connection.motia_offered = protocols
        connection.motia_protocol = None
        connection.motia_connected_at = event["requestContext"]["connectedAt"]
        function = self.api.routes.get("$connect")
        if function is None:
            return None
        result = await self.invoke(function, event)
        if not result.ok:
            return connection.respond(500, "Internal server error\n")
        payload = result.payload if isinstance(result.payload, dict) else {}
        status = int(payload.get("statusCode", 200))
        if not 200 <= status < 300:
            return connection.respond(status, str(payload.get("body") or "Forbidden") + "\n")
        answer = {str(k).lower(): v for k, v in (payload.get("headers") or {}).items()}
        connection.motia_protocol = answer.get("sec-websocket-protocol")
        return None

    def _subprotocol(self, connection: Any, offered: Any) -> Any:
        chosen = getattr(connection, "motia_protocol", None)
        return chosen if chosen in offered else None

    async def _handle(self, socket: Any) -> None:
        address = socket.remote_address or ("127.0.0.1", 0)
        conn = _Connection(socket.motia_id, socket, socket.motia_connected_at, address[0],
                           socket.request.headers.get("User-Agent", ""))
        with self._lock:
            self._connections[conn.id] = conn
        from websockets.exceptions import ConnectionClosed

        code, reason = 1000, ""
        try:
            while True:
                try:
                    message = await asyncio.wait_for(socket.recv(), self.idle_timeout_s)
                except TimeoutError:
                    await socket.close(1001, "Going away")
                    break
                conn.last_active = time.time()
                await self._message(conn, message)
        except ConnectionClosed as closed:
            received = closed.rcvd or closed.sent
            if received is not None:
                code, reason = received.code, received.reason
        finally:
            with self._lock:
                self._connections.pop(conn.id, None)
            function = self.api.routes.get("$disconnect")
            if function is not None:
                event = ev.ws_disconnect(conn.id, **self._event_args(), connected_at=conn.connected_at)
                event["requestContext"] |= {"disconnectStatusCode": code, "disconnectReason": reason}
                task = asyncio.ensure_future(self.invoke(function, event))
                self._disconnects.add(task)
                task.add_done_callback(self._disconnects.discard)

    async def _message(self, conn: _Connection, message: str | bytes) -> None:
        route = select_route(self.api.route_selection, message, self.api.routes)
        if route is None:
            await conn.socket.send(json.dumps({"message": "Forbidden", "connectionId": conn.id,
                                               "requestId": uuid.uuid4().hex[:16]}))
            return
        event = ev.ws_message(conn.id, message, route=route, **self._event_args(), connected_at=conn.connected_at)
        event["requestContext"]["identity"] = {"sourceIp": conn.source_ip, "userAgent": conn.user_agent}
        result = await self.invoke(self.api.routes[route], event)
        if not result.ok:
            # API Gateway tells the client an integration failed, with its request id.
            await conn.socket.send(json.dumps({"message": "Internal server error", "connectionId": conn.id,
                                               "requestId": uuid.uuid4().hex[:16]}))
        elif route in self.api.two_way and isinstance(result.payload, dict) and result.payload.get("body"):
            await conn.socket.send(str(result.payload["body"]))

    async def drain(self) -> None:
        """Wait for the ``$disconnect`` invocations still running."""
        if self._disconnects:
            await asyncio.wait(list(self._disconnects), timeout=10)

    # -- the Management API's sink (called from its server's threads) ------------------------------
    def _run(self, coro: Any, timeout: float = 10) -> Any:
        if self._loop is None:
            raise RuntimeError("the WebSocket API is not serving")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def post(self, connection_id: str, data: bytes) -> bool:
        from websockets.exceptions import ConnectionClosed

        with self._lock:
            conn = self._connections.get(connection_id)
        if conn is None:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            self._run(conn.socket.send(text if text is not None else data))
        except (ConnectionClosed, RuntimeError):
            return False
        return True

    def delete(self, connection_id: str) -> bool:
        with self._lock:
            conn = self._connections.get(connection_id)
        if conn is None:
            return False
        self._run(conn.socket.close(1000, ""))
        return True

    def info(self, connection_id: str) -> dict[str, Any] | None:
        with self._lock:
            conn = self._connections.get(connection_id)
        if conn is None:
            return None

        def iso(seconds: float) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))

        return {"connectedAt": iso(conn.connected_at / 1000), "lastActiveAt": iso(conn.last_active),
                "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent}}

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

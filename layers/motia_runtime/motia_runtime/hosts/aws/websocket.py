"""Lambda entry for every route of the stream WebSocket API (Motia's protocol).

Handler string: ``motia_runtime.hosts.aws.websocket.handler``. Routes (selection
``$request.body.type``): ``$connect`` runs the project's ``authenticate`` and stores the
connection with its auth context (401 on refusal; the first offered subprotocol is echoed, or
browsers drop the connection); ``$disconnect`` removes the connection and its subscriptions;
``join``, ``leave`` and ``$default`` carry client frames. Frames are dispatched on their parsed
``type`` rather than the route, so a message that reached ``$default`` is still understood, and
anything unreadable gets an ``INVALID_MESSAGE`` error frame.

Replies go through the Management API (``MOTIA_WS_ENDPOINT``), as the fan-out's do.
"""

from __future__ import annotations

import base64
import inspect
from typing import Any
from urllib.parse import urlencode

from ...errors import ConnectionGoneError, MotiaError
from ...protocol import (
    STREAM_ACCESS_DENIED,
    STREAM_NOT_FOUND,
    ProtocolError,
    Subscription,
    encode,
    error_frame,
    parse_client_message,
    sync_frame,
)
from ...runtime import Runtime
from ...streams import Stream
from . import bootstrap


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _headers(event: dict[str, Any]) -> dict[str, str]:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if isinstance(values, list) and values:
            headers[str(name).lower()] = ", ".join(str(v) for v in values)
    return headers


def auth_request(event: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """What ``authenticate(request)`` gets (headers, url, the token if one was sent), and the
    offered subprotocols."""
    headers = _headers(event)
    protocols = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
    token = protocols[1] if len(protocols) >= 2 and protocols[0].lower() == "authorization" else None
    context = event.get("requestContext") or {}
    url = f"wss://{context.get('domainName', '')}/{context.get('stage', '')}"
    if query:
        url += "?" + urlencode(query)
    return {"headers": headers, "url": url, "authToken": token or query.get("authToken")}, protocols


class _Session:
    """One WebSocket invocation: the connection it is about and how to answer it."""

    def __init__(self, event: dict[str, Any], connection_id: str) -> None:
        context = event["requestContext"]
        self.event = event
        self.connection_id = connection_id
        self.endpoint = f"https://{context.get('domainName')}/{context.get('stage')}"
        self.log = bootstrap.logger(entry="websocket", connectionId=connection_id, route=context.get("routeKey"))

    def post(self, frame: dict[str, Any]) -> None:
        try:
            bootstrap.pusher(self.endpoint).post(self.connection_id, encode(frame))
        except ConnectionGoneError:
            self.log.info("client left before the reply; removing the connection")
            bootstrap.subscriptions().remove_connection(self.connection_id)

    def error(self, runtime: Runtime, code: str, message: str, stream: str | None = None, group: str | None = None,
              id: str | None = None) -> None:
        self.log.warning(f"error frame to the client: {code}: {message}", stream=stream, groupId=group)
        self.post(error_frame(code, message, runtime.stream_store.clock.tick(), stream, group, id))

    async def connect(self) -> dict[str, Any]:
        runtime = bootstrap.runtime()
        request, protocols = auth_request(self.event)
        auth_context = None
        if runtime.project.authenticate is not None:
            try:
                auth_context = await _maybe_await(runtime.project.authenticate(request))
            except Exception as exc:  # a refusal: API Gateway answers the handshake with our status
                self.log.warning(f"connection refused by authenticate: {type(exc).__name__}: {exc}")
                return {"statusCode": 401, "body": "Unauthorized"}
        bootstrap.subscriptions().add_connection(self.connection_id, auth_context)
        response: dict[str, Any] = {"statusCode": 200}
        if protocols:
            response["headers"] = {"Sec-WebSocket-Protocol": protocols[0]}
        self.log.info("connected", authenticated=auth_context is not None)
        return response

    async def message(self) -> None:
        runtime = bootstrap.runtime()
        raw: str | bytes = self.event.get("body") or ""
        if self.event.get("isBase64Encoded") and isinstance(raw, str):
            raw = base64.b64decode(raw)
        try:
            message = parse_client_message(raw)
        except ProtocolError as exc:
            self.error(runtime, exc.code, exc.message, exc.stream_name, exc.group_id, exc.id)
            return
        sub = message.subscription
        if message.type == "leave":
            removed = bootstrap.subscriptions().unsubscribe(self.connection_id, sub.subscription_id)
            self.log.info("left", subscriptionId=sub.subscription_id, found=removed)
            return
        await self.join(runtime, sub)

    async def join(self, runtime: Runtime, sub: Subscription) -> None:
        stream: Stream | None = runtime.streams.get(sub.stream_name)
        if stream is None:
            self.error(runtime, STREAM_NOT_FOUND, f"Stream {sub.stream_name} not found", sub.stream_name,
                       sub.group_id, sub.id)
            return
        subscriptions = bootstrap.subscriptions()
        connection = subscriptions.get_connection(self.connection_id)
        auth_context = connection.auth_context if connection else None
        if stream.config.can_access is not None:
            try:
                allowed = await _maybe_await(
                    stream.config.can_access({"groupId": sub.group_id, "id": sub.id}, auth_context))
            except Exception as exc:
                self.log.warning(f"can_access raised for stream {sub.stream_name}: {exc}")
                allowed = False
            if not allowed:
                self.error(runtime, STREAM_ACCESS_DENIED, "Access denied", sub.stream_name, sub.group_id, sub.id)
                return
        # Register first, then read: a write that lands in between is both pushed and in the
        # snapshot (harmless), never neither. The stamp is taken before the read, so every later
        # write is stamped above it and is not dropped by the client as stale.
        subscriptions.subscribe(self.connection_id, sub, connection.expires_at if connection else None)
        stamp = stream.store.clock.tick()
        data: Any
        if sub.id is None:
            data = await stream.store.get_group(sub.stream_name, sub.group_id)
        else:
            # A missing item syncs as null (Motia sends nothing), so a client knows it is up to date.
            data = await stream.store.get(sub.stream_name, sub.group_id, sub.id)
        self.post(sync_frame(sub, data, stamp))
        self.log.info("joined", stream=sub.stream_name, groupId=sub.group_id, id=sub.id,
                      subscriptionId=sub.subscription_id)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    route = request_context.get("routeKey") if isinstance(request_context, dict) else None
    connection_id = request_context.get("connectionId") if isinstance(request_context, dict) else None
    if not isinstance(route, str) or not isinstance(connection_id, str) or not connection_id:
        bootstrap.logger(entry="websocket").error("malformed WebSocket event: no requestContext.routeKey/connectionId")
        return {"statusCode": 400, "body": "Bad request"}
    session = _Session(event, connection_id)
    try:
        if route == "$connect":
            return bootstrap.run(session.connect())
        if route == "$disconnect":
            removed = bootstrap.subscriptions().remove_connection(connection_id)
            session.log.info("disconnected", records=removed)
            return {"statusCode": 200}
        bootstrap.run(session.message())
    except MotiaError as exc:
        session.log.exception(f"WebSocket {route} failed: {exc}")
        return {"statusCode": 500, "body": "Internal Server Error"}
    except Exception as exc:
        session.log.exception(f"WebSocket {route} failed: {type(exc).__name__}: {exc}")
        return {"statusCode": 500, "body": "Internal Server Error"}
    return {"statusCode": 200}

"""Lambda entry for every route of the stream WebSocket API (Motia's protocol).

Handler string: ``motia_runtime.hosts.aws.websocket.handler``. Routes (selection
``$request.body.type``): ``$connect`` admits the connection (``motia_runtime.auth.admit``: a
stream token, or the project's ``authenticate``) and stores it with its auth context (401 on
refusal; the first offered subprotocol is echoed, or browsers drop the connection);
``$disconnect`` removes the connection and its subscriptions; ``join``, ``leave`` and
``$default`` carry client frames. Frames are dispatched on their parsed ``type`` rather than
the route, so a message that reached ``$default`` is still understood, and anything unreadable
gets an ``INVALID_MESSAGE`` error frame. Every join is authorized (``authorize_join``); a join
with ``since`` gets the events sent after it, read back from their records in the group's
partition, or a ``resync`` event when ``since`` is older than the replay window.

Replies go through the Management API (``MOTIA_WS_ENDPOINT``), as the fan-out's do. The
function loads the streams and ``authenticate``, none of the steps (``bootstrap.runtime(steps=False)``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import time
from typing import Any
from urllib.parse import urlencode

from ...adapters.aws.streams import DynamoDBStreamStore
from ...auth import AuthRequest, admit, authorize_join, offered_subprotocols
from ...auth import auth_request as _auth_request
from ...errors import ConnectionGoneError, FrameTooLargeError, MotiaError, StreamAuthError
from ...protocol import (
    FRAME_TOO_LARGE,
    INTERNAL_ERROR,
    INVALID_MESSAGE,
    STREAM_ACCESS_DENIED,
    STREAM_NOT_FOUND,
    ClientMessage,
    ProtocolError,
    change_frame,
    encode,
    error_frame,
    parse_client_message,
    replay_window_s,
    replays_to,
    resync_frame,
    sync_frame,
)
from ...runtime import Runtime
from ...streams import Stream
from . import _gc, bootstrap

# Event records are stamped by the clocks of different Lambdas: replay reaches this far before
# ``since``, and clients drop what they already have by ``eventId``.
REPLAY_SKEW_MS = 1000


def _headers(event: dict[str, Any]) -> dict[str, str]:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if isinstance(values, list) and values:
            headers[str(name).lower()] = ", ".join(str(v) for v in values)
    return headers


def auth_request(event: dict[str, Any]) -> tuple[AuthRequest, list[str]]:
    """What ``authenticate(request)`` gets (headers, url, the token if one was sent), and the
    offered subprotocols."""
    headers = _headers(event)
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
    context = event.get("requestContext") or {}
    url = f"wss://{context.get('domainName', '')}/{context.get('stage', '')}"
    if query:
        url += "?" + urlencode(query)
    return _auth_request(headers, url, query), offered_subprotocols(headers.get("sec-websocket-protocol"))


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
        except FrameTooLargeError as exc:
            # A group sync holds every item of the group: past 128 KB API Gateway cannot carry it.
            self.log.error(f"reply not sent: {exc}", stream=frame.get("streamName"), groupId=frame.get("groupId"))
            self.post(error_frame(FRAME_TOO_LARGE, f"The reply was too large for API Gateway ({exc}); subscribe "
                                  "to single items, or keep the group smaller", frame.get("timestamp") or 0,
                                  frame.get("streamName"), frame.get("groupId"), frame.get("id")))

    def error(self, runtime: Runtime, code: str, message: str, stream: str | None = None, group: str | None = None,
              id: str | None = None) -> None:
        self.log.warning(f"error frame to the client: {code}: {message}", stream=stream, groupId=group)
        self.post(error_frame(code, message, runtime.stream_store.clock.tick(), stream, group, id))

    async def connect(self) -> dict[str, Any]:
        runtime = bootstrap.runtime(steps=False)
        request, protocols = auth_request(self.event)
        try:
            auth_context = await admit(runtime.project.authenticate, request)
        except StreamAuthError as exc:  # a refusal: API Gateway answers the handshake with our status
            self.log.warning(f"connection refused: {exc}")
            return {"statusCode": 401, "body": "Unauthorized"}
        bootstrap.subscriptions().add_connection(self.connection_id, auth_context)
        response: dict[str, Any] = {"statusCode": 200}
        if protocols:
            response["headers"] = {"Sec-WebSocket-Protocol": protocols[0]}
        self.log.info("connected", authenticated=auth_context is not None)
        return response

    async def message(self) -> None:
        runtime = bootstrap.runtime(steps=False)
        raw: str | bytes = self.event.get("body") or ""
        if self.event.get("isBase64Encoded") and isinstance(raw, str):
            try:
                raw = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                self.error(runtime, INVALID_MESSAGE, "frame is not valid base64")
                return
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
        try:
            await self.join(runtime, message)
        except MotiaError as exc:  # a table failure: the client is told, and may join again
            self.log.exception(f"join failed: {exc}", stream=sub.stream_name)
            with contextlib.suppress(MotiaError):  # no half-made subscription pushing to a failed join
                bootstrap.subscriptions().unsubscribe(self.connection_id, sub.subscription_id)
            self.error(runtime, INTERNAL_ERROR, "The join failed on the server; try again", sub.stream_name,
                       sub.group_id, sub.id)

    async def join(self, runtime: Runtime, message: ClientMessage) -> None:
        sub = message.subscription
        stream: Stream | None = runtime.streams.get(sub.stream_name)
        if stream is None:
            self.error(runtime, STREAM_NOT_FOUND, f"Stream {sub.stream_name} not found", sub.stream_name,
                       sub.group_id, sub.id)
            return
        subscriptions = bootstrap.subscriptions()
        connection = subscriptions.get_connection(self.connection_id)
        auth_context = connection.auth_context if connection else None
        denied = await authorize_join(stream.config, sub, auth_context, on_error=lambda text: self.log.warning(text))
        if denied is not None:
            self.error(runtime, STREAM_ACCESS_DENIED, denied, sub.stream_name, sub.group_id, sub.id)
            return
        # Register first, then read: a write that lands in between is both pushed and in the
        # snapshot (harmless), never neither. The stamp is taken before the read, so every later
        # write is stamped above it and is not dropped by the client as stale.
        subscriptions.subscribe(self.connection_id, sub, connection.expires_at if connection else None)
        stamp = stream.store.clock.tick()
        if message.since is not None:
            await self.replay(stream, message, stamp)
        data: Any
        if sub.id is None:
            data = await stream.store.get_group(sub.stream_name, sub.group_id)
        else:
            # A missing item syncs as null (Motia sends nothing), so a client knows it is up to date.
            data = await stream.store.get(sub.stream_name, sub.group_id, sub.id)
        self.post(sync_frame(sub, data, stamp))
        self.log.info("joined", stream=sub.stream_name, groupId=sub.group_id, id=sub.id,
                      subscriptionId=sub.subscription_id)

    async def replay(self, stream: Stream, message: ClientMessage, stamp: int) -> None:
        """Post the events sent after ``since`` (before the sync, as the local host does), or a
        ``resync`` when the records may already be gone."""
        sub, since = message.subscription, message.since
        assert since is not None
        window_ms = replay_window_s() * 1000
        store = stream.store
        if not isinstance(store, DynamoDBStreamStore) or since < int(time.time() * 1000) - window_ms:
            self.post(resync_frame(sub, "outside the replay window", since, stamp))
            return
        events = await store.events_since(sub.stream_name, sub.group_id, max(since - REPLAY_SKEW_MS, 0))
        for change in events:
            if replays_to(change, sub):
                self.post(change_frame(change))


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


_gc.resume()  # the entry module is imported: the collector is back on (see _gc.py)

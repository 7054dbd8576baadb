"""Lambda entry for every route of the stream WebSocket API (Motia's protocol).

Handler string: ``motia_runtime.hosts.aws.websocket.handler``. Routes (selection
``$request.body.type``): ``$connect`` admits the connection (``motia_runtime.auth.admit``: a
stream token, or the project's ``authenticate``) and stores it with its auth context (401 on
refusal; the first offered subprotocol is echoed, or browsers drop the connection);
``$disconnect`` removes the connection and its subscriptions; ``join``, ``leave`` and
``$default`` carry client frames, which the stream session (``motia_runtime.session``, the same
as the local host's) answers: they are dispatched on their parsed ``type`` rather than the
route, so a message that reached ``$default`` is still understood, and anything unreadable gets
an ``INVALID_MESSAGE`` error frame. This module is the session's port on AWS (``TablePort``):
subscriptions are rows of the connections table, and a join with ``since`` gets the events sent
after it read back from their records in the group's partition (the store's ``history``), or a
``resync`` event when ``since`` is older than the stream's history window.

Replies go through the Management API (``MOTIA_WS_ENDPOINT``), as the fan-out's do. The
function loads the streams and ``authenticate``, none of the steps (``bootstrap.runtime(steps=False)``).
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ...auth import AuthRequest, admit, offered_subprotocols
from ...auth import auth_request as _auth_request
from ...errors import ConnectionGoneError, MotiaError, StreamAuthError
from ...log import StepLogger
from ...ports.streams import StreamChange
from ...protocol import INVALID_MESSAGE, Subscription, replays_to
from ...session import StreamSession
from ...stream_hooks import tracks_leaves
from ...streams import Stream
from . import _gc, bootstrap
from .metrics import publish_refused

if TYPE_CHECKING:
    from ...adapters.aws.subscriptions import ConnectionRecord

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


class TablePort:
    """The session's port for one connection on AWS: frames are posted through the Management
    API, rooms are rows of the subscriptions table, the replay reads the group's event records."""

    def __init__(self, connection_id: str, endpoint: str, log: StepLogger) -> None:
        self.connection_id = connection_id
        self.endpoint = endpoint
        self.log = log
        self._record: ConnectionRecord | None = None
        self._record_read = False

    def _connection(self) -> ConnectionRecord | None:
        # Read once per invocation, and only when a join needs it (a leave or a bad frame does not).
        if not self._record_read:
            self._record = bootstrap.subscriptions().get_connection(self.connection_id)
            self._record_read = True
        return self._record

    async def auth_context(self) -> Any:
        record = self._connection()
        return record.auth_context if record else None

    def send(self, text: str) -> None:
        try:
            bootstrap.pusher(self.endpoint).post(self.connection_id, text)
        except ConnectionGoneError:
            self.log.info("client left before the reply; removing the connection")
            bootstrap.subscriptions().remove_connection(self.connection_id)

    async def subscribe(self, sub: Subscription, limit: int) -> bool:
        record = self._connection()
        subscriptions = bootstrap.subscriptions()
        # Counted on the connection's record; a connection without one (its record expired) has
        # nothing to count on and subscribes uncounted, as before the cap.
        claim = subscriptions.claim_subscription(self.connection_id, sub.subscription_id, limit) if record else None
        if claim == "full":
            return False
        try:
            stream = bootstrap.runtime(steps=False).streams.get(sub.stream_name)
            hooked = stream is not None and tracks_leaves(stream.config)
            subscriptions.subscribe(self.connection_id, sub, record.expires_at if record else None,
                                    auth=record.auth_context if record and hooked else None)
        except Exception:
            if claim == "counted":  # not written: not held either
                subscriptions.release_subscription(self.connection_id)
            raise
        return True

    async def unsubscribe(self, subscription_id: str) -> Subscription | None:
        subscriptions = bootstrap.subscriptions()
        removed = subscriptions.unsubscribe(self.connection_id, subscription_id)
        if removed is not None:
            subscriptions.release_subscription(self.connection_id)
        return removed

    async def replay(self, stream: Stream, sub: Subscription, since: int, upto: int) -> list[StreamChange] | None:
        floor = int(time.time() * 1000) - stream.store.history_policy(stream.name).window_s * 1000
        if since < floor:
            return None
        # Read from a little before ``since`` (see REPLAY_SKEW_MS), but never from before the window.
        events = await stream.store.history(sub.stream_name, sub.group_id, max(since - REPLAY_SKEW_MS, floor, 0))
        return None if events is None else [change for change in events if replays_to(change, sub)]

    async def holds(self, stream: str, group_id: str, id: str | None) -> bool:
        return any(s.stream_name == stream and s.group_id == group_id and (s.id is None or s.id == id)
                   for s in bootstrap.subscriptions().subscriptions_of(self.connection_id))

    async def take_event_token(self, rate_per_s: float, burst: int) -> bool:
        return bootstrap.subscriptions().take_event_token(self.connection_id, rate_per_s, burst)

    async def end(self) -> list[Subscription]:
        removed = bootstrap.subscriptions().remove_connection(self.connection_id)
        self.log.info("disconnected", records=removed)
        return []  # leave hooks run from the connections table's stream (hosts/aws/triggers.py)


class _Invocation:
    """One WebSocket invocation: the connection it is about and how to answer it."""

    def __init__(self, event: dict[str, Any], connection_id: str) -> None:
        context = event["requestContext"]
        self.event = event
        self.connection_id = connection_id
        self.log = bootstrap.logger(entry="websocket", connectionId=connection_id, route=context.get("routeKey"))
        self.port = TablePort(connection_id, f"https://{context.get('domainName')}/{context.get('stage')}", self.log)

    def session(self) -> StreamSession:
        # Leave hooks run from the connections table's change stream: once per removed row,
        # whether a leave, $disconnect, a 410 in the fan-out or expiry removed it.
        return StreamSession(bootstrap.runtime(steps=False), self.port, self.log,
                             bootstrap.settings().limits.max_subscriptions, leave_hooks=False,
                             on_refused=self._refused)  # EMF RefusedJoins

    @staticmethod
    def _refused(stream: str, _group: str) -> None:
        publish_refused(stream, bootstrap.settings().metrics_namespace)

    async def connect(self) -> dict[str, Any]:
        runtime = bootstrap.runtime(steps=False)
        request, protocols = auth_request(self.event)
        try:
            auth_context = await admit(runtime.project.authenticate, request)
        except StreamAuthError as exc:  # a refusal: API Gateway answers the handshake with our status
            self.log.warning(f"connection refused: {exc}")
            publish_refused(None, bootstrap.settings().metrics_namespace)  # EMF RefusedConnections (metrics.py)
            return {"statusCode": 401, "body": "Unauthorized"}
        bootstrap.subscriptions().add_connection(self.connection_id, auth_context)
        response: dict[str, Any] = {"statusCode": 200}
        if protocols:
            response["headers"] = {"Sec-WebSocket-Protocol": protocols[0]}
        self.log.info("connected", authenticated=auth_context is not None)
        return response

    async def message(self) -> None:
        session = self.session()
        raw: str | bytes = self.event.get("body") or ""
        if self.event.get("isBase64Encoded") and isinstance(raw, str):
            try:
                raw = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                session.refuse(INVALID_MESSAGE, "frame is not valid base64")
                return
        await session.receive(raw)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    route = request_context.get("routeKey") if isinstance(request_context, dict) else None
    connection_id = request_context.get("connectionId") if isinstance(request_context, dict) else None
    if not isinstance(route, str) or not isinstance(connection_id, str) or not connection_id:
        bootstrap.logger(entry="websocket").error("malformed WebSocket event: no requestContext.routeKey/connectionId")
        return {"statusCode": 400, "body": "Bad request"}
    invocation = _Invocation(event, connection_id)
    try:
        if route == "$connect":
            return bootstrap.run(invocation.connect())
        if route == "$disconnect":
            # No runtime needed: the connection's rows go, whatever the project is.
            bootstrap.run(invocation.port.end())
            return {"statusCode": 200}
        bootstrap.run(invocation.message())
    except MotiaError as exc:
        invocation.log.exception(f"WebSocket {route} failed: {exc}")
        return {"statusCode": 500, "body": "Internal Server Error"}
    except Exception as exc:
        invocation.log.exception(f"WebSocket {route} failed: {type(exc).__name__}: {exc}")
        return {"statusCode": 500, "body": "Internal Server Error"}
    return {"statusCode": 200}


_gc.resume()  # the entry module is imported: the collector is back on (see _gc.py)

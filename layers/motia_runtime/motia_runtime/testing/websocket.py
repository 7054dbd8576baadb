"""WebSocket side of the simulation: what was posted to each connection, and fake clients.

Frames are captured inside moto's API Gateway Management API backend, so what a test sees has
gone through the real pusher, boto3 and the HTTP layer moto stubs. moto accepts posts to any
connection id and never answers 410 Gone, so the recorder adds API Gateway's behaviour: a post
to a connection that is not open (never connected, disconnected, or marked with
``CloudSim.gone``) raises ``GoneException`` with status 410, and ``fail()`` makes the next posts
to a connection answer 429 (throttled) or 413 (payload too large), as API Gateway can.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError

if TYPE_CHECKING:
    from .cloud import CloudSim


class _GoneError(JsonRESTError):
    code = 410

    def __init__(self, connection_id: str) -> None:
        super().__init__("GoneException", f"connection {connection_id} is gone")


_FAILURES = {429: "TooManyRequestsException", 413: "PayloadTooLargeException", 500: "InternalServerErrorException"}


class _PostError(JsonRESTError):
    def __init__(self, status: int, connection_id: str) -> None:
        self.code = status
        super().__init__(_FAILURES[status], f"injected {status} for connection {connection_id}")


class FrameRecorder:
    """Wraps one moto Management API backend: records each post and answers Gone for closed ids."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._original = backend.post_to_connection
        self._lock = threading.Lock()
        self.posted: dict[str, list[bytes]] = defaultdict(list)
        self.open_ids: set[str] = set()
        self.attempts: dict[str, int] = defaultdict(int)  # posts tried per connection, failed ones included
        self._failures: dict[str, list[int]] = defaultdict(list)

    @classmethod
    def install(cls, account_id: str, region: str) -> FrameRecorder:
        from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

        recorder = cls(apigatewaymanagementapi_backends[account_id][region])
        # An instance attribute shadows the backend's method for this backend only.
        recorder.backend.post_to_connection = recorder._post
        return recorder

    def uninstall(self) -> None:
        self.backend.__dict__.pop("post_to_connection", None)

    def _post(self, data: bytes, connection_id: str) -> None:
        # moto hands over the id as it appears in the URL path; ids end in "=", sent as "%3D".
        connection_id = unquote(connection_id)
        with self._lock:
            self.attempts[connection_id] += 1
            if connection_id not in self.open_ids:
                raise _GoneError(connection_id)
            if self._failures[connection_id]:
                raise _PostError(self._failures[connection_id].pop(0), connection_id)
            self.posted[connection_id].append(bytes(data))
        self._original(data=data, connection_id=connection_id)

    def open(self, connection_id: str) -> None:
        with self._lock:
            self.open_ids.add(connection_id)

    def close(self, connection_id: str) -> None:
        with self._lock:
            self.open_ids.discard(connection_id)

    def fail(self, connection_id: str, status: int, times: int = 1) -> None:
        """The next ``times`` posts to the connection answer ``status``: 429, 413 or 500."""
        if status not in _FAILURES:
            raise ValueError(f"status must be one of {sorted(_FAILURES)}")
        with self._lock:
            self._failures[connection_id].extend([status] * times)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(raw) for raw in self.posted.get(connection_id, [])]


class WsClient:
    """A client connected through ``CloudSim.connect``; each call is one WebSocket message."""

    def __init__(self, sim: CloudSim, connection_id: str, response: dict[str, Any]) -> None:
        self.sim = sim
        self.connection_id = connection_id
        self.status_code = int(response.get("statusCode", 200))
        self.headers: dict[str, str] = dict(response.get("headers") or {})
        self.accepted = self.status_code == 200
        self.closed = not self.accepted
        self._subscriptions: dict[str, dict[str, Any]] = {}

    @property
    def subprotocol(self) -> str | None:
        return self.headers.get("Sec-WebSocket-Protocol")

    @property
    def frames(self) -> list[dict[str, Any]]:
        """Every frame posted to this connection so far, oldest first."""
        return self.sim.recorder.frames(self.connection_id)

    def frames_of(self, stream: str, group_id: str, id: str | None = None) -> list[dict[str, Any]]:
        """Frames about one group (``id`` None: every frame of the group) or one item."""
        return [f for f in self.frames if f.get("streamName") == stream and f.get("groupId") == group_id
                and (id is None or f.get("id") == id)]

    def errors(self) -> list[dict[str, Any]]:
        """The ``data`` ({code, message}) of each error frame received."""
        return [f["event"]["event"]["data"] for f in self.frames
                if f.get("event", {}).get("type") == "event" and f["event"].get("event", {}).get("type") == "error"]

    def send_raw(self, text: str | bytes) -> dict[str, Any]:
        """Send one frame as API Gateway would deliver it (route chosen on ``type``; ``bytes`` is a
        binary frame)."""
        if self.closed:
            raise ConnectionError(f"connection {self.connection_id} is closed")
        return self.sim.ws_message(self.connection_id, text)

    def join(self, stream: str, group_id: str, id: str | None = None, *, subscription_id: str | None = None,
             since: int | None = None) -> str:
        """Subscribe as Motia's clients do (``since``: as ours do on a rejoin); returns the
        subscription id."""
        sub_id = subscription_id or str(uuid.uuid4())
        data: dict[str, Any] = {"streamName": stream, "groupId": group_id, "subscriptionId": sub_id}
        if id is not None:
            data["id"] = id
        self._subscriptions[sub_id] = data
        self.send_raw(json.dumps({"type": "join", "data": data if since is None else {**data, "since": since}}))
        return sub_id

    def leave(self, subscription_id: str) -> None:
        data = self._subscriptions.pop(subscription_id)
        self.send_raw(json.dumps({"type": "leave", "data": data}))

    def disconnect(self) -> None:
        if not self.closed:
            self.sim.ws_disconnect(self.connection_id)
            self.closed = True

"""WebSocket side of the simulation: what was posted to each connection, and fake clients.

``FrameRecorder`` is API Gateway's Management API on a loopback port (a real HTTP server in a
thread of the test process): the functions' ``MOTIA_WS_ENDPOINT`` points at it, so what a test
sees has gone through the real pusher, its SigV4 signing and HTTP. It answers as API Gateway does:

* ``POST /{stage}/@connections/{id}`` → 200, the frame recorded; 410 ``GoneException`` for a
  connection that is not open (never connected, disconnected, or marked with ``CloudSim.gone``);
  ``fail()`` makes the next posts to a connection answer 429 (throttled), 413 (payload too large)
  or 500, as API Gateway can;
* ``DELETE`` → 204 and the connection is closed (410 when it is not open); ``GET`` → its info;
* 403 ``ForbiddenException`` for another stage or path, and for a request whose SigV4 signature does
  not verify against the credentials in the environment (``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY``, as the harness sets them), or is more than 5 minutes old; those are
  listed in ``rejected``.

The same server is the Management API of ``motia cloud`` (``motia_runtime.emulation``): there a
``sink`` hands each post to the real socket (and a DELETE closes it) instead of recording it, and
``control`` serves the emulator's own ``/__cloud/`` paths, and ``guard`` refuses (403) the
requests web pages make and unknown ``Host`` names before anything else (emulation/local_only.py).
"""

from __future__ import annotations

import calendar
import hmac
import json
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import unquote

if TYPE_CHECKING:
    from .cloud import CloudSim


_FAILURES = {429: "LimitExceededException", 413: "PayloadTooLargeException", 500: "InternalServerErrorException"}
MAX_POST = 128 * 1024  # API Gateway's largest message to a connection
MAX_SKEW_S = 300  # API Gateway refuses a signature more than 5 minutes old (or ahead)


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None = None


def env_credentials() -> Credentials | None:
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN")) if key and secret else None


def sigv4_problem(method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Credentials,
                  region: str, service: str = "execute-api", now: float | None = None) -> str | None:
    """Why a request's SigV4 ``Authorization`` does not verify (None when it does): botocore's
    signer re-signs the same request (the headers it says it signed, its ``X-Amz-Date``) with
    ``credentials`` and the signatures are compared, as are the credential scope and the date."""
    from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    algorithm, _, fields = auth.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return "no AWS4-HMAC-SHA256 Authorization header"
    parts = dict(f.strip().partition("=")[::2] for f in fields.split(","))
    amz_date = lower.get("x-amz-date", "")
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, SIGV4_TIMESTAMP))
    except ValueError:
        return f"bad X-Amz-Date {amz_date!r}"
    if abs((time.time() if now is None else now) - signed_at) > MAX_SKEW_S:
        return f"signature expired (X-Amz-Date {amz_date})"
    scope = f"{credentials.access_key}/{amz_date[:8]}/{region}/{service}/aws4_request"
    if parts.get("Credential") != scope:
        return f"credential scope {parts.get('Credential')!r} is not {scope!r}"
    signed = parts.get("SignedHeaders", "").split(";")
    if "host" not in signed or "x-amz-date" not in signed or any(h not in lower for h in signed):
        return f"signed headers {signed} must include host and x-amz-date, and be sent"
    if credentials.token is not None and lower.get("x-amz-security-token") != credentials.token:
        return "X-Amz-Security-Token missing or wrong"
    request = AWSRequest(method, url, data=body, headers={h: lower[h] for h in signed})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(BotoCredentials(*credentials), service, region)
    if signer.signed_headers(signer.headers_to_sign(request)) != parts.get("SignedHeaders"):
        return "SignedHeaders are not in canonical order"
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, parts.get("Signature", "")):
        return "signature does not match"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The fan-out opens a connection per thread at once. A class attribute: the constructor
    # listens with it (set on the instance afterwards, the backlog stays 5 and connects are reset).
    request_queue_size = 256


class ConnectionSink(Protocol):
    """Where a live emulator's Management API sends what functions post (see the module docstring)."""

    def post(self, connection_id: str, data: bytes) -> bool:
        """Send one frame; False when the connection is gone."""

    def delete(self, connection_id: str) -> bool:
        """Close the connection; False when it was already gone."""

    def info(self, connection_id: str) -> dict[str, Any] | None:
        """GET @connections/{id}'s answer, None when gone."""


class FrameRecorder:
    """API Gateway's Management API for one stage, on ``127.0.0.1``: see the module docstring.
    Use ``start()`` / ``stop()`` (or ``with``); ``endpoint`` is what ``MOTIA_WS_ENDPOINT`` takes."""

    def __init__(self, stage: str = "test", *, region: str | None = None,
                 credentials: Callable[[], Credentials | None] = env_credentials, port: int = 0,
                 sink: ConnectionSink | None = None,
                 control: Callable[[str, str, bytes], tuple[int, bytes]] | None = None,
                 guard: Callable[[Mapping[str, str]], str | None] | None = None) -> None:
        self.stage = stage
        self.guard = guard
        self.region = region
        self.port = port
        self.sink = sink
        self.control = control
        self._credentials = credentials
        self._lock = threading.Lock()
        self.posted: dict[str, list[bytes]] = defaultdict(list)
        self.open_ids: set[str] = set()
        self.attempts: dict[str, int] = defaultdict(int)  # posts tried per connection, failed ones included
        self.rejected: list[str] = []  # requests refused with 403, and why
        self._failures: dict[str, list[int]] = defaultdict(list)
        self._connected_at: dict[str, float] = {}
        self._server: ThreadingHTTPServer | None = None
        self._sockets: set[socket.socket] = set()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FrameRecorder:
        if self._server is None:
            server = _Server(("127.0.0.1", self.port), _handler_for(self))
            self._server = server
            threading.Thread(target=server.serve_forever, args=(0.05,), name="motia-sim-apigateway",
                             daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:  # end the keep-alive connections, whose threads wait for a next request
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._sockets.clear()

    def __enter__(self) -> FrameRecorder:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:{port}/{stage}``, the Management API endpoint of the stage."""
        if self._server is None:
            raise RuntimeError("the recorder is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.stage}"

    # -- what tests control and read -----------------------------------------------------------
    def open(self, connection_id: str) -> None:
        with self._lock:
            self.open_ids.add(connection_id)
            self._connected_at[connection_id] = time.time()

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

    # -- the API (called from the server's threads) --------------------------------------------
    def _check(self, method: str, host: str, path: str, headers: Mapping[str, str], body: bytes) -> str | None:
        credentials = self._credentials()
        if credentials is None:
            return "no AWS credentials in the environment to check the signature against"
        region = self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return sigv4_problem(method, f"http://{host}{path}", headers, body, credentials, region)

    def _answer(self, method: str, path: str, host: str, headers: Mapping[str, str],
                body: bytes) -> tuple[int, str, bytes]:
        """(status, error type or "", body) for one request."""
        if self.guard is not None:
            refused = self.guard({k.lower(): v for k, v in headers.items()})
            if refused is not None:
                return 403, "ForbiddenException", json.dumps({"message": f"Refused: {refused}"}).encode()
        if self.control is not None and path.startswith("/__cloud/"):
            status, reply = self.control(method, path, body)
            return status, "", reply
        prefix = f"/{self.stage}/@connections/"
        raw_id = path[len(prefix):] if path.startswith(prefix) else ""
        if not raw_id or "/" in raw_id or "?" in raw_id:
            return 403, "ForbiddenException", b'{"message":"Forbidden"}'
        problem = self._check(method, host, path, headers, body)
        if problem is not None:
            with self._lock:
                self.rejected.append(f"{method} {path}: {problem}")
            return 403, "ForbiddenException", json.dumps({"message": problem}).encode()
        connection_id = unquote(raw_id)  # ids end in "=", sent as "%3D"
        gone = 410, "GoneException", json.dumps({"message": f"connection {connection_id} is gone"}).encode()
        if self.sink is not None:
            return self._answer_live(self.sink, method, connection_id, body, gone)
        with self._lock:
            if method == "POST":
                self.attempts[connection_id] += 1
                if connection_id not in self.open_ids:
                    return gone
                if self._failures[connection_id]:
                    status = self._failures[connection_id].pop(0)
                    message = f"injected {status} for connection {connection_id}"
                    return status, _FAILURES[status], json.dumps({"message": message}).encode()
                self.posted[connection_id].append(body)
                return 200, "", b""
            if connection_id not in self.open_ids:
                return gone
            if method == "DELETE":
                self.open_ids.discard(connection_id)
                return 204, "", b""
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._connected_at.get(connection_id, 0)))
            return 200, "", json.dumps({"connectedAt": at, "lastActiveAt": at,
                                        "identity": {"sourceIp": "127.0.0.1", "userAgent": ""}}).encode()


    def _answer_live(self, sink: ConnectionSink, method: str, connection_id: str, body: bytes,
                     gone: tuple[int, str, bytes]) -> tuple[int, str, bytes]:
        with self._lock:
            self.attempts[connection_id] += method == "POST"
            failure = self._failures[connection_id].pop(0) if method == "POST" and self._failures[connection_id] \
                else None
        if failure is not None:
            message = f"injected {failure} for connection {connection_id}"
            return failure, _FAILURES[failure], json.dumps({"message": message}).encode()
        if method == "POST" and len(body) > MAX_POST:
            return 413, _FAILURES[413], json.dumps({"message": f"{len(body)} bytes: over 128 KB"}).encode()
        if method == "POST":
            return (200, "", b"") if sink.post(connection_id, body) else gone
        if method == "DELETE":
            return (204, "", b"") if sink.delete(connection_id) else gone
        info = sink.info(connection_id)
        return (200, "", json.dumps(info).encode()) if info is not None else gone


def _handler_for(recorder: FrameRecorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway
        disable_nagle_algorithm = True  # a response's head and body are separate writes
        timeout = 60  # an idle keep-alive connection's thread ends after this

        def log_message(self, *_: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with recorder._lock:
                recorder._sockets.add(self.connection)

        def finish(self) -> None:
            with recorder._lock:
                recorder._sockets.discard(self.connection)
            super().finish()

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status, error_type, reply = recorder._answer(self.command, self.path, self.headers.get("host", ""),
                                                         dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            if status != 204:
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
            self.end_headers()
            if reply and status != 204:
                self.wfile.write(reply)

        def do_POST(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

    return Handler


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

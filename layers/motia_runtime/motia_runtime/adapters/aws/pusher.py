"""Sending frames to WebSocket clients through the API Gateway Management API.

Calls are synchronous: the fan-out posts to many connections from a thread pool, and the
WebSocket entry point posts one frame per invocation.

API Gateway's answers are told apart, because each needs a different reaction:

* 410 Gone: the client left (``$disconnect`` is not guaranteed) → ``ConnectionGoneError``; the
  caller removes the connection.
* 429 throttled (or a throttling error code): retried here with jittered exponential backoff
  (nothing else retries, so the delays are ours and bounded), then ``ConnectionThrottledError``;
  the fan-out reports the record failed and Lambda hands it over again later.
* 413 payload too large (or a frame over 128 KB, checked before the call) →
  ``FrameTooLargeError``, never retried: it cannot succeed.

Anything else (another status, a connection that cannot be opened or breaks) is a ``MotiaError``
naming the status and API Gateway's message.

How a post is sent: ``PostToConnection`` is one small signed POST, and botocore's generic client
spent ~1.1 ms of CPU on each (event hooks, the user-agent string rebuilt per request, request and
response models), so the fan-out was bound by the GIL long before API Gateway was busy
(bench/optimisations.md). ``post()`` therefore makes the request itself: ``POST {stage
path}/@connections/{id}``, signed by botocore's own SigV4 signer (``SigV4Auth``, service
``execute-api``; credentials from the boto3 session, re-read per request so that refreshed ones are
used; region from the endpoint's host, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``), sent on a
keep-alive ``http.client`` connection from this pusher's pool (at most ``MOTIA_PUSH_CONCURRENCY``
kept; TLS verified against botocore's CA bundle, or ``AWS_CA_BUNDLE``). Measured with 64 threads,
urllib3's pool cost ~0.3 ms more CPU per post than ``http.client`` (bench/optimisations.md). A
connection idle for over a second is checked before reuse, so one API Gateway closed is not used.
Nothing is retried but throttling. Error codes are read as botocore reads them (the
``x-amzn-ErrorType`` header, else ``__type`` / ``code`` in the JSON body). Proxies (``HTTPS_PROXY``)
are not used. ``close()`` (DeleteConnection, rare) stays on boto3.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ...errors import ConnectionGoneError, ConnectionThrottledError, FrameTooLargeError, MotiaError
from ...limits import DEFAULTS
from ._client import AWS_ERRORS, LazyClient, error_code, status_code

if TYPE_CHECKING:  # the dev extra's boto3-stubs
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

MAX_FRAME_BYTES = 128 * 1024  # API Gateway WebSocket's message limit
THROTTLE_RETRIES = 3
THROTTLE_BASE_S = 0.05
_THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException", "ThrottlingException"})

# Posts in flight at once: the fan-out's threads, and the connections a pusher keeps. A post waits
# ~20 ms on API Gateway and costs ~0.35-0.45 ms of CPU here (bench/optimisations.md). 16 threads
# could never post 1,000 frames in under 1.25 s (1,000 / 16 x 20 ms), whatever the CPU; 64 bring
# that floor to ~0.3 s, under the batch's CPU time, so the CPU is the limit again. Fewer (32, 48)
# or more (96) measured no less CPU per post, and fewer raise the floor.
DEFAULT_PUSH_CONCURRENCY = DEFAULTS.push_concurrency  # MOTIA_PUSH_CONCURRENCY (limits.py)
TIMEOUT_S = 60.0  # connect and each read or write: botocore's default, as before
IDLE_CHECK_S = 1.0  # a connection idle longer than this is checked for a close before reuse
SERVICE = "execute-api"

_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def _is_gone(exc: BaseException) -> bool:
    return error_code(exc) == "GoneException" or status_code(exc) == 410


class _AnswerError(Exception):
    """An answer other than 2xx, read as botocore would: HTTP status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code or 'error'}: {message}" if message else f"{status} {code or 'error'}")


def _error_of(status: int, headers: Any, body: bytes) -> _AnswerError:
    code = str(headers.get("x-amzn-ErrorType") or "").split(":")[0]
    message = ""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
        message = body[:200].decode("utf-8", "replace")
    if isinstance(parsed, dict):
        code = code or str(parsed.get("__type") or parsed.get("code") or parsed.get("Code") or "").rpartition("#")[2]
        message = str(parsed.get("message") or parsed.get("Message") or message)
    return _AnswerError(status, code, message)


# -- signing: botocore's SigV4 signer, without its generic request machinery ------------------
# SigV4Auth reads a request's method, url, headers, body, params and context. Given botocore's
# AWSRequest it spent over a third of its ~0.1 ms per post building email-based header maps
# (twice) and preparing the body again; a plain request and a plain header map give it the same
# input (tests/aws/test_pusher.py checks the result against the stock signer).
class _Headers(dict[str, str]):
    def get_all(self, name: str) -> list[str]:
        return [self[name]]


class _Request:
    __slots__ = ("body", "context", "headers", "method", "params", "url")

    def __init__(self, url: str, headers: dict[str, str], body: bytes) -> None:
        self.method = "POST"
        self.url = url
        self.headers = headers
        self.body = body
        self.params: dict[str, str] = {}
        self.context: dict[str, Any] = {}


_signer_class: Any = None


def _signer() -> Any:
    global _signer_class
    if _signer_class is None:
        from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth

        class Signer(SigV4Auth):
            # A plain dict with get_all() is all of HTTPMessage that SigV4Auth reads (see above).
            def headers_to_sign(self, request: Any) -> _Headers:  # type: ignore[override]
                # What SigV4Auth's does, minus its HTTPHeaders; Host is always set by _send.
                return _Headers((name.lower(), value) for name, value in request.headers.items()
                                if name.lower() not in SIGNED_HEADERS_BLACKLIST)

        _signer_class = Signer
    return _signer_class


# -- the connections ----------------------------------------------------------------------------
@dataclass
class _Transport:
    scheme: str
    hostname: str
    port: int
    url: str  # scheme://host[:port]{stage path}/@connections/, as signed
    path: str  # {stage path}/@connections/
    host: str  # the Host header, as signed
    region: str
    credentials: Any  # botocore Credentials (get_frozen_credentials() per request)
    pool_size: int
    ssl_context: Any = None
    user_agent: str = "motia-runtime"
    idle: deque[tuple[Any, float]] = field(default_factory=deque)  # (connection, idle since); LIFO

    def connection(self) -> Any:
        while True:
            try:
                conn, since = self.idle.pop()  # deque.pop and append are atomic: no lock
            except IndexError:
                break
            if time.monotonic() - since < IDLE_CHECK_S or not _closed(conn):
                return conn
            conn.close()
        import http.client

        if self.scheme == "https":
            return http.client.HTTPSConnection(self.hostname, self.port, timeout=TIMEOUT_S, context=self.ssl_context)
        return http.client.HTTPConnection(self.hostname, self.port, timeout=TIMEOUT_S)

    def release(self, conn: Any) -> None:
        if len(self.idle) < self.pool_size:
            self.idle.append((conn, time.monotonic()))
        else:
            conn.close()


def _closed(conn: Any) -> bool:
    """Whether an idle keep-alive connection was closed by the server (readable means EOF, or
    bytes nobody asked for: either way it cannot be used)."""
    sock = conn.sock
    if sock is None:
        return False  # http.client opens a new socket on the next request
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _region_for(host: str) -> str:
    found = _REGION_IN_HOST.search(host)
    if found:
        return found.group(1)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        import boto3

        region = _session(boto3).region_name
    if not region:
        raise MotiaError(f"no AWS region for the Management API endpoint {host}: set AWS_REGION")
    return str(region)


def _session(boto3: Any) -> Any:
    # The session every boto3.client() in this process comes from (the test harness replaces it).
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


def _open_transport(endpoint_url: str, pool_size: int) -> _Transport:
    import boto3
    import botocore

    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MotiaError(f"the Management API endpoint {endpoint_url!r} is not an http(s) URL")
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    host = parts.hostname if port == default_port else f"{parts.hostname}:{port}"
    path = parts.path.rstrip("/") + "/@connections/"
    context = None
    if parts.scheme == "https":
        import ssl

        from botocore.httpsession import get_cert_path

        context = ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True))
    credentials = _session(boto3).get_credentials()
    if credentials is None:
        raise MotiaError("no AWS credentials found to sign Management API requests")
    return _Transport(scheme=parts.scheme, hostname=parts.hostname, port=port, url=f"{parts.scheme}://{host}{path}",
                      path=path, host=host, region=_region_for(parts.hostname), credentials=credentials,
                      pool_size=pool_size, ssl_context=context,
                      user_agent=f"motia-runtime Botocore/{botocore.__version__}")


class ApiGatewayPusher:
    """``endpoint_url`` is ``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`` (or a
    custom domain's base URL). ``client`` (a boto3 ``apigatewaymanagementapi`` client) serves
    ``close()`` only; ``pool_size``: the connections kept (the function's ``Limits.push_concurrency``)."""

    def __init__(self, endpoint_url: str, client: Any | None = None, *, throttle_retries: int = THROTTLE_RETRIES,
                 throttle_base_s: float = THROTTLE_BASE_S, sleep: Callable[[float], None] = time.sleep,
                 pool_size: int = DEFAULT_PUSH_CONCURRENCY) -> None:
        self.endpoint_url = endpoint_url
        self.throttle_retries = throttle_retries
        self.throttle_base_s = throttle_base_s
        self.pool_size = pool_size
        self._sleep = sleep
        self._client: LazyClient[ApiGatewayManagementApiClient] = LazyClient(
            "apigatewaymanagementapi", client, endpoint_url=endpoint_url, max_attempts=0)
        self._transport: _Transport | None = None
        self._lock = threading.Lock()

    def backoff_s(self, attempt: int) -> float:
        # "Equal jitter": at least half the exponential delay, so retries do back off, and spread.
        delay = self.throttle_base_s * 2.0 ** attempt
        return delay / 2 + random.uniform(0, delay / 2)

    def _open(self) -> _Transport:
        if self._transport is None:
            with self._lock:
                if self._transport is None:
                    self._transport = _open_transport(self.endpoint_url, self.pool_size)
        return self._transport

    def _send(self, connection_id: str, payload: bytes) -> None:
        """One signed ``PostToConnection``; raises ``_AnswerError`` for an answer other than 2xx."""
        from http.client import HTTPException

        t = self._open()
        target = quote(connection_id, safe="")  # ids end in "=": sent as "%3D", as botocore does
        request = _Request(t.url + target, {"Host": t.host}, payload)  # no Content-Type, as boto3 sends it
        try:
            _signer()(t.credentials.get_frozen_credentials(), SERVICE, t.region).add_auth(request)
        except AWS_ERRORS as exc:  # e.g. credentials that could not be refreshed
            raise MotiaError(f"posting to connection {connection_id} failed: cannot sign: {exc}") from exc
        request.headers["User-Agent"] = t.user_agent  # not signed (SigV4 leaves it out)
        conn = t.connection()
        try:
            conn.request("POST", t.path + target, body=payload, headers=request.headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, HTTPException) as exc:  # refused, reset, timed out, TLS, a malformed answer
            conn.close()
            raise MotiaError(f"posting to connection {connection_id} failed: {type(exc).__name__}: {exc}") from exc
        t.release(conn)
        if not 200 <= response.status < 300:
            raise _error_of(response.status, response.headers, body)

    def post(self, connection_id: str, data: str | bytes) -> None:
        """Send one frame; see the module docstring for what each failure raises."""
        payload = data.encode() if isinstance(data, str) else data
        if len(payload) > MAX_FRAME_BYTES:
            raise FrameTooLargeError(f"a {len(payload)}-byte frame for connection {connection_id} is over "
                                     f"API Gateway's {MAX_FRAME_BYTES}-byte WebSocket message limit")
        for attempt in range(self.throttle_retries + 1):
            try:
                self._send(connection_id, payload)
                return
            except _AnswerError as exc:
                if exc.code == "GoneException" or exc.status == 410:
                    raise ConnectionGoneError(f"connection {connection_id} is gone") from exc
                if exc.code == "PayloadTooLargeException" or exc.status == 413:
                    raise FrameTooLargeError(f"API Gateway refused a {len(payload)}-byte frame for connection "
                                             f"{connection_id} as too large (413)") from exc
                if exc.code not in _THROTTLED and exc.status != 429:
                    raise MotiaError(f"posting to connection {connection_id} failed: {exc}") from exc
                if attempt == self.throttle_retries:
                    raise ConnectionThrottledError(
                        f"posting to connection {connection_id} was throttled (429) {attempt + 1} times") from exc
                self._sleep(self.backoff_s(attempt))

    def close(self, connection_id: str) -> None:
        """Disconnect a client; a connection that is already gone is not an error."""
        try:
            self._client.get().delete_connection(ConnectionId=connection_id)
        except AWS_ERRORS as exc:
            if not _is_gone(exc):
                raise MotiaError(f"closing connection {connection_id} failed: {exc}") from exc

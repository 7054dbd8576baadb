"""The local host's trust boundary: which names it answers to, and which browser pages may use
the Workbench (docs/auth.md, "The Workbench's trust boundary").

* **Host allow-list, on everything** (API steps, the stream WebSocket, ``/__motia/``, the page).
  A request whose ``Host`` is not ``localhost``, ``127.0.0.1``, ``[::1]``, the host ``motia dev``
  was bound to (``--host``) or a name added with ``--allowed-host`` / ``MOTIA_ALLOWED_HOSTS`` is
  refused with 403. This is what stops DNS rebinding: a page on ``evil.example`` whose name
  resolves to 127.0.0.1 is same-origin with itself, so neither CORS nor an Origin check sees
  anything wrong, but its requests carry ``Host: evil.example:3000``.
  ``MOTIA_ALLOWED_HOSTS=*`` turns the check off.
* **``/__motia/`` is for the server's own page**: no CORS headers at all (another page cannot
  read an answer), and a request or socket that carries an ``Origin`` must carry exactly the
  server's own (scheme, host and port), else 403. Browsers send ``Origin`` on every cross-origin
  request that can change something and on every WebSocket; curl and scripts send none and are
  allowed, as anything on the machine could reach the port anyway.
* **Everything else** (API steps, the stream WebSocket at ``/``): CORS as ``MOTIA_CORS_ORIGINS``
  says (cors.py). App clients on other origins (a Vite page on :5173) still connect: their
  ``Host`` is this server's.

Starlette's TrustedHostMiddleware is not used: it answers 400 with a bare "Invalid host header",
and the refusal should say which host was refused and how to allow it, as JSON like every other
error of this API; it also cannot keep CORS off one path prefix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .asgi3 import asgi3
from .settings import ENV_ALLOWED_HOSTS

WORKBENCH_PREFIX = "/__motia"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PARSED_MAX = 64
_UNSEEN: Any = object()
_WEB_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def _split(netloc: str, scheme: str) -> tuple[str, int] | None:
    """(hostname, port) of ``host[:port]``, or None when it does not parse."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, port if port is not None else _DEFAULT_PORTS.get(scheme, 0)


class HostAllowList:
    """The Host allow-list (module docstring); ``hosts`` None allows every name."""

    def __init__(self, hosts: Collection[str] | None) -> None:
        self.hosts = hosts
        # Host header → its parse (urlsplit: ~5 % of a GET); bounded, as clients choose the values.
        self._parsed: dict[tuple[str, str], tuple[str, int] | None] = {}

    def own(self, host: str, scheme: str) -> tuple[str, int] | None:
        """(hostname, port) of a ``Host`` header for a request of ``scheme`` (http or https)."""
        own = self._parsed.get((host, scheme), _UNSEEN)
        if own is _UNSEEN:
            own = _split(host, scheme)
            if len(self._parsed) < _PARSED_MAX:  # the same few Host values come again and again
                self._parsed[(host, scheme)] = own
        return own  # type: ignore[no-any-return]

    def admits(self, host: str, scope_scheme: str) -> bool:
        """Whether a request with this ``Host`` header and the scope's scheme passes the list."""
        if self.hosts is None:
            return True
        own = self.own(host, _WEB_SCHEME.get(scope_scheme, "http"))
        return own is not None and own[0] in self.hosts


class TrustBoundary:
    """ASGI middleware applying the rules of the module docstring; wraps the app's CORS too."""

    def __init__(self, app: ASGIApp, hosts: Collection[str] | None, cors_origins: Sequence[str]) -> None:
        self.app = app
        self.hosts = hosts
        self.allow = HostAllowList(hosts)
        self.cors = CORSMiddleware(app, allow_origins=cors_origins, allow_methods=["*"], allow_headers=["*"],
                                   max_age=600)

    @asgi3  # a server given it directly sees ASGI 3 (asgi3.py)
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: it hands back the next app's, so no frame of this middleware
        # stays alive for as long as a WebSocket is open (memory per idle subscriber).
        if scope["type"] not in ("http", "websocket"):
            return self.app(scope, receive, send)
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        scheme = _WEB_SCHEME.get(scope.get("scheme", "http"), "http")
        own = self.allow.own(host, scheme)
        if self.hosts is not None and (own is None or own[0] not in self.hosts):
            listed = ", ".join(sorted(f"[{h}]" if ":" in h else h for h in self.hosts))
            return _refuse(scope, receive, send, f"Refused: this server does not answer to the host {host!r} "
                                                 f"(it answers to {listed}); to allow another name, start motia dev "
                                                 f"with --allowed-host NAME or set {ENV_ALLOWED_HOSTS}")
        path = scope["path"]
        if path != WORKBENCH_PREFIX and not path.startswith(WORKBENCH_PREFIX + "/"):
            if scope["type"] == "websocket":
                return self.app(scope, receive, send)  # CORS is HTTP's (Starlette's passes sockets through)
            if "origin" not in headers:
                # Not a browser's cross-origin request: Starlette's CORS would only add Vary: Origin,
                # through its MutableHeaders on every send (~a tenth of a GET's CPU).
                return self.app(scope, receive, _vary_origin(send))
            return self.cors(scope, receive, send)
        origin = headers.get("origin")
        if origin is not None and not same_origin(origin, scheme, own):
            return _refuse(scope, receive, send, f"Refused: the Workbench ({WORKBENCH_PREFIX}/) answers only pages "
                                                 f"of its own origin ({scheme}://{host}), not {origin}")
        return self.app(scope, receive, send)  # no CORS: another page may not read these answers


def _vary_origin(send: Send) -> Send:
    """``send`` adding ``Origin`` to the response's Vary as Starlette's CORS does for a request
    without an Origin (the answer may differ for one that has it): the values of every Vary line
    joined into the first one, with ``Origin`` last."""

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = with_vary_origin(message.get("headers") or ())
        await send(message)

    return sender


def with_vary_origin(raw_headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A response's headers with ``Origin`` added to its Vary, as :func:`_vary_origin` sends them."""
    headers = list(raw_headers)
    found = [i for i, (name, _) in enumerate(headers) if name.lower() == b"vary"]
    if not found:
        headers.append((b"vary", b"Origin"))
    else:
        value = b", ".join([*(headers[i][1] for i in found), b"Origin"])
        headers[found[0]] = (b"vary", value)
        for i in reversed(found[1:]):
            del headers[i]
    return headers


def same_origin(origin: str, scheme: str, own: tuple[str, int] | None) -> bool:
    """Whether a request's ``Origin`` is the server's own: ``scheme`` and ``own`` (the parsed
    ``Host``, :meth:`HostAllowList.own`). Also ``motia cloud``'s control listeners' rule
    (emulation/local_only.py)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if own is None or parts.scheme != scheme or parts.path not in ("", "/") or parts.query:
        return False
    return _split(parts.netloc, scheme) == own


async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
    if scope["type"] == "websocket" and "websocket.http.response" not in (scope.get("extensions") or {}):
        # A server without the denial-response extension: closing before the accept is a 403.
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    await JSONResponse({"error": reason}, status_code=403)(scope, receive, send)

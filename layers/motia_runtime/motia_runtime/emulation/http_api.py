"""API Gateway's HTTP API (payload format 2.0) in front of the functions, as an ASGI app.

Each request is matched to the template's ``HttpApi`` routes as API Gateway matches them (a
literal path before one with ``{param}``, before a greedy ``{proxy+}``, before ``$default``; a
method before ``ANY``), becomes the 2.0 event that route would produce, and the function's answer
becomes the response (a dict without ``statusCode`` is JSON with 200, as API Gateway infers). No
route: 404 ``{"message":"Not Found"}``; a function that raises, times out or crashes: 500
``{"message":"Internal Server Error"}``. A ``CorsConfiguration`` answers preflights and adds the
CORS headers for allowed origins, as the HTTP API's built-in CORS does (the function's own CORS
headers are then dropped, as API Gateway ignores them). A request for a ``Host``
the gate does not admit (local_only.py: DNS rebinding) gets 403 ``{"message":"Forbidden"}``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..testing import lambda_events as ev
from .lambda_pool import Invocation
from .template import HttpRoute

if TYPE_CHECKING:
    from .local_only import Gate

NOT_FOUND = b'{"message":"Not Found"}'
FORBIDDEN = b'{"message":"Forbidden"}'
SERVER_ERROR = b'{"message":"Internal Server Error"}'
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))")


@dataclass(frozen=True)
class _Compiled:
    route: HttpRoute
    pattern: re.Pattern[str] | None  # None: $default
    names: tuple[str, ...]  # the path parameters, in the order of the pattern's groups
    rank: tuple[int, ...]


def _compile(route: HttpRoute) -> _Compiled:
    if route.path == "$default":
        return _Compiled(route, None, (), (3, 0, 0, route.method == "ANY"))
    parts, names, greedy = [], [], 0
    for segment in route.path.strip("/").split("/"):
        match = re.fullmatch(r"\{([A-Za-z0-9_.-]+?)(\+?)\}", segment)
        if match:  # groups are numbered: parameter names may hold characters a group name cannot
            names.append(match.group(1))
            parts.append("(.+)" if match.group(2) else "([^/]+)")
            greedy += bool(match.group(2))
        else:
            parts.append(re.escape(segment))
    pattern = re.compile("^/" + "/".join(parts) + "$")
    return _Compiled(route, pattern, tuple(names), (2 if greedy else 1 if names else 0, len(names),
                                                    -len(route.path), route.method == "ANY"))


class Router:
    def __init__(self, routes: list[HttpRoute]) -> None:
        self.routes = sorted((_compile(r) for r in routes), key=lambda c: c.rank)

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self.routes:
            if compiled.route.method not in ("ANY", method.upper()):
                continue
            if compiled.pattern is None:
                return compiled.route, {}
            found = compiled.pattern.match(path)
            if found:
                return compiled.route, dict(zip(compiled.names, found.groups(), strict=True))
        return None


def route_key(route: HttpRoute) -> str:
    return "$default" if route.path == "$default" else f"{route.method} {route.path}"


class Cors:
    """The HTTP API's ``CorsConfiguration`` (resolved). ValueError for one API Gateway refuses."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.origins = [str(o) for o in config.get("AllowOrigins") or []]
        self.methods = [str(m).upper() for m in config.get("AllowMethods") or []]
        self.headers = [str(h).lower() for h in config.get("AllowHeaders") or []]
        self.expose = [str(h) for h in config.get("ExposeHeaders") or []]
        self.credentials = str(config.get("AllowCredentials", False)).lower() == "true"
        self.max_age = config.get("MaxAge")
        if self.credentials and "*" in self.origins:
            # API Gateway's BadRequestException "allow-credentials is not supported if 'allow-origin'
            # is *": served here, every page would read answers sent with the user's cookies.
            raise ValueError("AllowCredentials is not supported with the origin * (API Gateway refuses it); "
                             "list the origins")

    def allowed(self, origin: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` for a request from ``origin`` (None: not allowed):
        ``*``, an exact origin, or ``https://*`` / ``http://*`` (every origin of that scheme)."""
        if "*" in self.origins:
            return "*"
        scheme = origin.partition("://")[0]
        if origin in self.origins or f"{scheme}://*" in self.origins:
            return origin
        return None

    def preflight(self, origin: str, method: str, headers: str) -> list[tuple[bytes, bytes]]:
        allowed = self.allowed(origin)
        if allowed is None or not ("*" in self.methods or method.upper() in self.methods):
            return []
        out = [(b"access-control-allow-origin", allowed.encode()),
               (b"access-control-allow-methods", ",".join(self.methods).encode())]
        if headers and self.headers:
            out.append((b"access-control-allow-headers", ",".join(self.headers).encode()))
        if self.max_age is not None:
            out.append((b"access-control-max-age", str(self.max_age).encode()))
        return out + self.common()

    def common(self) -> list[tuple[bytes, bytes]]:
        out = []
        if self.credentials:
            out.append((b"access-control-allow-credentials", b"true"))
        if self.expose:
            out.append((b"access-control-expose-headers", ",".join(self.expose).encode()))
        return out


Invoke = Callable[[str, dict[str, Any]], Awaitable[Invocation]]


class HttpApi:
    """The ASGI app; ``invoke(function, event)`` runs a function (see ``server.CloudApp``)."""

    def __init__(self, routes: list[HttpRoute], invoke: Invoke, *, api_id: str, region: str,
                 cors: Cors | None = None, gate: Gate | None = None) -> None:
        self.router = Router(routes)
        self.gate = gate
        self.invoke = invoke
        self.api_id = api_id
        self.region = region
        self.cors = cors

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, headers, payload = await self.handle(scope, body)
        headers.append((b"apigw-requestid", uuid.uuid4().hex[:16].encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def handle(self, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        method: str = scope["method"]
        path: str = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "cookie":
                cookies += [c.strip() for c in value.split(";") if c.strip()]
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        if self.gate is not None and not self.gate.admits_host("http-api", headers.get("host", "")):
            return 403, [(b"content-type", b"application/json")], FORBIDDEN
        origin = headers.get("origin")
        if self.cors is not None and origin and method == "OPTIONS" and "access-control-request-method" in headers:
            return 204, self.cors.preflight(origin, headers["access-control-request-method"],
                                            headers.get("access-control-request-headers", "")), b""
        found = self.router.match(method, path)
        if found is None:
            return 404, [(b"content-type", b"application/json")], NOT_FOUND
        route, params = found
        text = _TEXT_TYPES.match(headers.get("content-type", "text/plain"))
        event = ev.http_api(method, path, route_key=route_key(route), path_params=params,
                            query=scope.get("query_string", b"").decode("latin-1"), headers=headers,
                            body=(body.decode("utf-8", "replace") if text else body) if body else None,
                            api_id=self.api_id, region=self.region)
        event["requestContext"]["http"]["sourceIp"] = (scope.get("client") or ("127.0.0.1",))[0]
        if cookies:
            event["cookies"] = cookies
        result = await self.invoke(route.function, event)
        if not result.ok:
            return 500, [(b"content-type", b"application/json")], SERVER_ERROR
        status, out_headers, payload = _response(result.payload)
        if self.cors is not None:
            # "If you configure CORS for an API, API Gateway ignores CORS headers returned from
            # your backend integration": a function's own "*" lets no other page in on AWS.
            out_headers = [(n, v) for n, v in out_headers if not n.startswith(b"access-control-")]
            allowed = self.cors.allowed(origin) if origin else None
            if allowed is not None:
                out_headers += [(b"access-control-allow-origin", allowed.encode()), *self.cors.common()]
        return status, out_headers, payload


def _response(result: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A payload 2.0 response, or what API Gateway infers from a result without ``statusCode``."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [(b"content-type", b"application/json")], json.dumps(result).encode()
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return 500, [(b"content-type", b"application/json")], SERVER_ERROR
    headers = [(str(k).lower().encode(), str(v).encode()) for k, v in (result.get("headers") or {}).items()]
    headers += [(b"set-cookie", str(c).encode()) for c in result.get("cookies") or []]
    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(str(body))
    else:
        payload = str(body).encode()
    if not any(name == b"content-type" for name, _ in headers) and payload:
        headers.append((b"content-type", b"application/json"))
    return status, headers, payload

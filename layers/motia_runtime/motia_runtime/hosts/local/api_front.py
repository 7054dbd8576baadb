"""The local host's app: Starlette, with one short way in for the common API request.

An API step's request went through Starlette's ServerErrorMiddleware, the trust boundary, the body
limit, ExceptionMiddleware, the router and the route before the step's endpoint: about 25 µs of a
``GET /ping``'s ~90 µs in one process, most of it coroutine frames and ``send`` wrappers that have
nothing to do for a plain request (bench/optimisations.md, round 2). :class:`LocalApp` takes a
request straight to the endpoint when every one of those layers would only pass it on:

* an HTTP request for a parameterless API step's path and method, the route Starlette's router
  would pick (``StaticFirstRouter``'s table), with no ``root_path``;
* its ``Host`` one the server answers to (trust.py's allow-list), and no ``Origin`` header (CORS
  would only add ``Vary: Origin``, which this path adds the same way); not under ``/__motia``;
* no ``Transfer-Encoding`` and a ``Content-Length``, if any, within the body limit (the server
  then delivers no more than that).

Every other request, including each one the trust boundary or the body limit would refuse, goes
through the full stack as before, so refusals are made in one place. On this path an
``HTTPException`` raised while reading the request is answered by the app's own handler, and any
other error by the 500 Starlette's ServerErrorMiddleware gives, then re-raised for the server to log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from .asgi3 import asgi3
from .http import Endpoint, raw_response, request_headers
from .routing import StaticFirstRouter
from .trust import WORKBENCH_PREFIX, HostAllowList, with_vary_origin

HttpErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class LocalApp(Starlette):
    """Starlette, with API steps at static paths reachable without the middleware stack (above)."""

    _fast: dict[tuple[str, str], Endpoint]
    _hosts: HostAllowList
    _http_error: HttpErrorHandler
    _max_body_bytes: int

    def fast_path(self, hosts: HostAllowList, http_error: HttpErrorHandler, max_body_bytes: int) -> None:
        """Turn the short way in on, for the routes the app's router reaches by its table."""
        router = self.router
        self._fast = {}
        if isinstance(router, StaticFirstRouter):
            for key, route in router.static_routes().items():
                if isinstance(route.app, Endpoint) and not _workbench_path(key[0]):
                    self._fast[key] = route.app
        self._hosts = hosts
        self._http_error = http_error
        self._max_body_bytes = max_body_bytes  # what BodyLimit is given (app.py)

    @asgi3  # a plain function handing back a coroutine: no frame of its own under a WebSocket
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:  # type: ignore[override]  # any awaitable is ASGI
        scope["app"] = self
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = getattr(self, "_fast", {}).get((scope["path"], scope["method"]))
            if endpoint is not None:
                headers = _plain_request(scope, self._hosts, self._max_body_bytes)
                if headers is not None:
                    return self._serve(endpoint, headers, scope, receive, send)
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        return self.middleware_stack(scope, receive, send)

    async def _serve(self, endpoint: Endpoint, headers: dict[str, str], scope: Scope, receive: Receive,
                     send: Send) -> None:
        scope["path_params"] = {}  # what the router sets for a route without parameters
        try:
            status, raw, body = raw_response(await endpoint.respond(scope, receive, headers))
        except HTTPException as exc:  # the app's ExceptionMiddleware's answer (and CORS's Vary)
            response = await self._http_error(Request(scope), exc)
            status, raw, body = response.status_code, response.raw_headers, bytes(response.body)
        except ClientDisconnect:
            return  # gone in the middle of its body: no one to answer, nothing failed (app._client_gone)
        except Exception:
            # ServerErrorMiddleware's: outside the trust boundary, so no Vary; re-raised to be logged.
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        await send({"type": "http.response.start", "status": status, "headers": with_vary_origin(raw)})
        await send({"type": "http.response.body", "body": body})


def _workbench_path(path: str) -> bool:
    return path == WORKBENCH_PREFIX or path.startswith(WORKBENCH_PREFIX + "/")


def _plain_request(scope: Scope, hosts: HostAllowList, max_body_bytes: int) -> dict[str, str] | None:
    """The request's headers (as ``request_headers`` gives a step them) when no layer of the stack
    has anything to do for it (module docstring), else None."""
    headers = request_headers(scope)
    if "origin" in headers or "transfer-encoding" in headers:
        return None
    if not hosts.admits(headers.get("host", ""), scope.get("scheme", "http")):
        return None  # the trust boundary refuses it
    declared: Any = headers.get("content-length")
    if declared is not None and declared != "0" and (not declared.isdigit() or int(declared) > max_body_bytes):
        return None  # the body limit answers it
    return headers

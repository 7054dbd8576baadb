"""API steps as Starlette routes: translate the request, call ``dispatch.run_api``, translate back."""

from __future__ import annotations

import re
from typing import Any

import pydantic_core
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ...config import ApiRouteConfig
from ...dispatch import ApiRequest, ApiResponse, parse_body, run_api
from ...project import Step
from ...runtime import Runtime


def starlette_path(path: str) -> str:
    """``/pets/:id`` (Motia, Express) → ``/pets/{id}`` (Starlette)."""
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", path)


def query_params(scope: Scope) -> dict[str, str | list[str]]:
    """The query string as Motia gives it: one value as a string, repeated names as lists."""
    out: dict[str, str | list[str]] = {}
    raw = scope.get("query_string")
    if not raw:
        return out  # without parsing an empty query string into a multi-dict
    params = QueryParams(raw)
    for key in params:
        values = params.getlist(key)
        out[key] = values[0] if len(values) == 1 else values
    return out


def to_response(result: ApiResponse) -> Response:
    headers = dict(result.headers)
    body = result.body
    if isinstance(body, bytes):
        content, media = body, headers.pop("content-type", "application/octet-stream")
    elif isinstance(body, str) and "content-type" in {k.lower() for k in headers}:
        content, media = body.encode(), None
    elif body is None and result.status in (204, 304):
        content, media = b"", None
    else:
        content, media = pydantic_core.to_json(body), "application/json"
    return Response(content, status_code=result.status, headers=headers, media_type=media)


_JSON = b"application/json"


def raw_response(result: ApiResponse) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``to_response(result)``'s status, header list and body, as it would send them. The usual
    answer (a JSON body, lowercase header names other than content-type/-length) is put together
    here directly: Starlette's ``Response`` with its ``init_headers`` was ~8 % of a GET's CPU."""
    body = result.body
    status = result.status
    if type(body) is not bytes and type(body) is not str and 200 <= status and status not in (204, 304):
        raw = []
        for k, v in result.headers.items():
            if not k.islower() or k == "content-type" or k == "content-length":
                break  # Starlette's Response decides these
            raw.append((k.encode("latin-1"), v.encode("latin-1")))
        else:
            content = pydantic_core.to_json(body)
            raw.append((b"content-length", b"%d" % len(content)))
            raw.append((b"content-type", _JSON))
            return status, raw, content
    response = to_response(result)
    return response.status_code, response.raw_headers, bytes(response.body)


def api_routes(runtime: Runtime) -> list[Route]:
    routes = []
    for step in runtime.project.api_steps:
        config = step.config
        routes.append(Route(starlette_path(config.path), _endpoint(runtime, step), methods=[config.method],
                            name=step.name))
    return routes


def request_headers(scope: Any) -> dict[str, str]:
    """The request's headers as a step gets them on AWS: a repeated name's values joined by commas,
    as API Gateway's payload 2.0 joins them, and repeated ``cookie`` headers by ``; `` (the AWS host
    joins the payload's ``cookies`` so). Keeping only the first value, as ``dict(request.headers)``
    would, lost the rest here while the same step saw them all when deployed."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name in out:
            value = f"{out[name]}{'; ' if name == 'cookie' else ','}{value}"
        out[name] = value
    return out


class Endpoint:
    """An API step as a plain ASGI app. A callable that is not a function makes Starlette's
    ``Route`` hand it the request's scope as it is: no ``Request`` object, the body read straight
    from ``receive``, and no second exception-handling layer around it (errors, including the body
    limit's 413, still reach the app's ExceptionMiddleware and ServerErrorMiddleware). The app's
    short way in (api_front.py) calls :meth:`respond` itself."""

    __slots__ = ("runtime", "step")

    def __init__(self, runtime: Runtime, step: Step[ApiRouteConfig]) -> None:
        self.runtime = runtime
        self.step = step

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = to_response(await self.respond(scope, receive, request_headers(scope)))
        await response(scope, receive, send)

    async def respond(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> ApiResponse:
        """The step's answer to the request; ``headers`` are its headers as ``request_headers`` reads them."""
        raw = await _body(receive)
        body, error = parse_body(raw, headers.get("content-type"), browser="origin" in headers)
        if error is not None:
            return error
        api_request: ApiRequest = {
            "pathParams": dict(scope.get("path_params") or {}),
            "queryParams": query_params(scope),
            "body": body,
            "headers": headers,
            "rawBody": raw.decode("utf-8", errors="replace"),
        }
        return await run_api(self.runtime, self.step, api_request)


async def _body(receive: Receive) -> bytes:
    """The whole request body, as ``Request.body()`` reads it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def _endpoint(runtime: Runtime, step: Step[ApiRouteConfig]) -> Any:
    return Endpoint(runtime, step)


def openapi_route(runtime: Runtime) -> Route:
    """``GET /openapi.json``: the document ``motia openapi`` writes (a step owning the path wins)."""
    from starlette.responses import JSONResponse

    from ...tools.openapi import build_openapi

    document = build_openapi(runtime.project)

    async def endpoint(_: Request) -> Response:
        return JSONResponse(document)

    return Route("/openapi.json", endpoint, methods=["GET"], name="openapi")

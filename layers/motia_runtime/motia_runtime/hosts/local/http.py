"""API steps as Starlette routes: translate the request, call ``dispatch.run_api``, translate back."""

from __future__ import annotations

import re
from typing import Any

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...config import ApiRouteConfig
from ...dispatch import ApiRequest, ApiResponse, parse_body, run_api
from ...project import Step
from ...runtime import Runtime


def starlette_path(path: str) -> str:
    """``/pets/:id`` (Motia, Express) → ``/pets/{id}`` (Starlette)."""
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", path)


def query_params(request: Request) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    if not request.scope.get("query_string"):
        return out  # without parsing an empty query string into a multi-dict
    for key in request.query_params:
        values = request.query_params.getlist(key)
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


def api_routes(runtime: Runtime) -> list[Route]:
    routes = []
    for step in runtime.project.api_steps:
        config = step.config
        routes.append(Route(starlette_path(config.path), _endpoint(runtime, step), methods=[config.method],
                            name=step.name))
    return routes


def _headers(scope: Any) -> dict[str, str]:
    """``dict(request.headers)`` (the first value of a repeated name) without Starlette's lookup
    of each name through the whole list again."""
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        out.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return out


def _endpoint(runtime: Runtime, step: Step[ApiRouteConfig]) -> Any:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        body, error = parse_body(raw, request.headers.get("content-type"))
        if error is not None:
            return to_response(error)
        api_request: ApiRequest = {
            "pathParams": dict(request.path_params),
            "queryParams": query_params(request),
            "body": body,
            "headers": _headers(request.scope),
            "rawBody": raw.decode("utf-8", errors="replace"),
        }
        return to_response(await run_api(runtime, step, api_request))

    return endpoint


def openapi_route(runtime: Runtime) -> Route:
    """``GET /openapi.json``: the document ``motia openapi`` writes (a step owning the path wins)."""
    from starlette.responses import JSONResponse

    from ...tools.openapi import build_openapi

    document = build_openapi(runtime.project)

    async def endpoint(_: Request) -> Response:
        return JSONResponse(document)

    return Route("/openapi.json", endpoint, methods=["GET"], name="openapi")

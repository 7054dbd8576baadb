"""Lambda entry for API steps: an HTTP API (payload v2) event in, ``dispatch.run_api``, a response out.

Handler string: ``motia_runtime.hosts.aws.api.handler``; the step is ``MOTIA_STEP`` (or, when it
is unset, the API step whose route matches the event's ``routeKey``). A malformed event is
answered 400 and an unusable function 500, each with an error log; nothing escapes as an
unhandled exception, which API Gateway would turn into a bare 500 with no log line of ours.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import parse_qs

import pydantic_core

from ...config import ApiRouteConfig
from ...dispatch import ApiRequest, ApiResponse, error_body, parse_body, run_api
from ...errors import MotiaError
from ...limits import DEFAULTS
from ...project import Step
from ...runtime import Runtime
from ...trace import new_trace_id
from . import _gc, bootstrap


class BadEventError(MotiaError):
    """The Lambda event is not an HTTP API payload v2 request."""


# Lambda refuses a synchronous invocation's result over 6 MB (Function.ResponseSizeTooLarge, as
# the python3.11 runtime serialises it: JSON with non-ASCII escaped) and API Gateway then answers a
# bare 500, with no line of ours saying why; motia dev has no such limit.
MAX_RESULT_BYTES = 6 * 1024 * 1024
_ESCAPED_MAX = 12  # bytes one character of the body can take in that JSON (a surrogate pair's \uXXXX\uXXXX)


def result_size(result: dict[str, Any]) -> int | None:
    """The size of a result Lambda would refuse, or None when it fits (measured only when the body
    is long enough that it might not)."""
    if len(result["body"]) * _ESCAPED_MAX < MAX_RESULT_BYTES - 64 * 1024:  # headers fit in the rest
        return None
    size = len(json.dumps(result).encode())
    return size if size > MAX_RESULT_BYTES else None


def apigw_path(path: str) -> str:
    """``/pets/:id`` (Motia) → ``/pets/{id}`` (API Gateway)."""
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", path)


def _str_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadEventError(f"'{field}' must be an object of strings")
    return value


def to_request(event: Any, max_body_bytes: int = DEFAULTS.max_body_bytes
               ) -> tuple[ApiRequest | None, ApiResponse | None]:
    """The ``req`` a handler gets, or the 400 response for a body that cannot be parsed."""
    if not isinstance(event, dict):
        raise BadEventError(f"the event is a {type(event).__name__}, not an object")
    http = (event.get("requestContext") or {}).get("http") if isinstance(event.get("requestContext"), dict) else None
    if not isinstance(http, dict) or not isinstance(http.get("method"), str):
        raise BadEventError("no requestContext.http.method: not an HTTP API payload v2 event")
    headers = {k.lower(): v for k, v in _str_map(event.get("headers"), "headers").items()}
    cookies = event.get("cookies")
    if isinstance(cookies, list) and cookies:
        # Payload v2 moves cookies out of the headers; handlers expect them where HTTP puts them.
        headers["cookie"] = "; ".join(str(c) for c in cookies)
    raw_query = event.get("rawQueryString")
    query: dict[str, str | list[str]]
    if isinstance(raw_query, str):
        # rawQueryString keeps repeated keys apart; queryStringParameters joins them with commas.
        query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    else:
        query = dict(_str_map(event.get("queryStringParameters"), "queryStringParameters"))
    body = event.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise BadEventError("'body' must be a string")
    elif event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadEventError(f"'body' is marked isBase64Encoded but is not base64: {exc}") from None
    else:
        raw = body.encode()
    parsed, error = parse_body(raw, headers.get("content-type"), max_body_bytes, browser="origin" in headers)
    if error is not None:
        return None, error
    return {
        "pathParams": dict(_str_map(event.get("pathParameters"), "pathParameters")),
        "queryParams": query,
        "body": parsed,
        "headers": headers,
        "rawBody": raw.decode("utf-8", errors="replace"),
    }, None


def to_lambda(response: ApiResponse) -> dict[str, Any]:
    headers = {str(k): str(v) for k, v in response.headers.items()}
    has_type = "content-type" in {k.lower() for k in headers}
    body = response.body
    if isinstance(body, (bytes, bytearray)):
        if not has_type:
            headers["content-type"] = "application/octet-stream"
        return {"statusCode": response.status, "headers": headers,
                "body": base64.b64encode(bytes(body)).decode(), "isBase64Encoded": True}
    if isinstance(body, str) and has_type:
        text = body
    elif body is None and response.status in (204, 304):
        text = ""
    else:
        text = pydantic_core.to_json(body).decode()
        if not has_type:
            headers["content-type"] = "application/json"
    return {"statusCode": response.status, "headers": headers, "body": text, "isBase64Encoded": False}


def _step_for(runtime: Runtime, event: dict[str, Any]) -> Step[ApiRouteConfig]:
    if bootstrap.step_name():
        return bootstrap.step("api")
    route_key = event.get("routeKey")
    for candidate in runtime.project.api_steps:
        config = candidate.config
        if route_key == f"{config.method} {apigw_path(config.path)}":
            return candidate
    raise MotiaError(f"{bootstrap.ENV_STEP} is not set and no API step serves routeKey {route_key!r}")


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    trace_id = new_trace_id()
    log = bootstrap.logger(entry="api", traceId=trace_id,
                           routeKey=event.get("routeKey") if isinstance(event, dict) else None)
    try:
        max_body_bytes = bootstrap.settings().limits.max_body_bytes
    except MotiaError as exc:  # a limit variable out of its bounds: nothing can be served
        log.exception(f"the API function cannot serve requests: {exc}")
        return to_lambda(ApiResponse(500, error_body("Internal Server Error"), {"x-trace-id": trace_id}))
    try:
        request, early = to_request(event, max_body_bytes)
    except BadEventError as exc:
        log.error(f"malformed HTTP API event: {exc}")
        return to_lambda(ApiResponse(400, error_body(f"Bad request: {exc}"), {"x-trace-id": trace_id}))
    if early is not None:
        early.headers.setdefault("x-trace-id", trace_id)
        return to_lambda(early)
    try:
        runtime = bootstrap.runtime()
        step = _step_for(runtime, event)
    except MotiaError as exc:
        log.exception(f"the API function cannot serve requests: {exc}")
        return to_lambda(ApiResponse(500, error_body("Internal Server Error"), {"x-trace-id": trace_id}))
    assert request is not None
    try:
        response = bootstrap.run(run_api(runtime, step, request, trace_id))
    except Exception as exc:  # run_api maps handler errors itself; this is a bug or a dead loop
        log.exception(f"request failed outside the step: {type(exc).__name__}: {exc}", step=step.name)
        return to_lambda(ApiResponse(500, error_body("Internal Server Error"), {"x-trace-id": trace_id}))
    result = to_lambda(response)
    size = result_size(result)
    if size is not None:
        log.error(f"the response of step {step.name!r} is {size} bytes as Lambda's result, over Lambda's "
                  f"{MAX_RESULT_BYTES}-byte limit; return less (a page, a link to the data)",
                  step=step.name, status=response.status)
        return to_lambda(ApiResponse(500, error_body("Internal Server Error"), {"x-trace-id": trace_id}))
    log.info("request handled", step=step.name, status=response.status)
    return result


_gc.resume()  # the entry module is imported: the collector is back on (see _gc.py)

"""Running a step: the one code path both hosts call.

A host turns its request (an HTTP request, a queue message, a schedule tick, an API Gateway or
SQS event on Lambda) into the arguments below and turns the result back into its own response.
Validation, the handler context, middleware, time limits and error mapping live here only.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import pydantic

from . import jsonsafe
from .context import FlowContext
from .deadline import deadline
from .errors import MotiaError, ValidationError
from .ports.events import Event
from .project import Step
from .run_context import running
from .runtime import Runtime
from .trace import new_trace_id

if TYPE_CHECKING:  # created on first use (config.py): a function creates its own step type's only
    from .api_config import ApiRouteConfig
    from .cron_config import CronConfig
    from .event_config import EventConfig


class ApiRequest(TypedDict):
    """What an API handler gets as ``req`` (a plain dict, as in Motia's Python steps)."""

    pathParams: dict[str, str]
    queryParams: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str]
    rawBody: str


@dataclass(slots=True)
class ApiResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class InvalidInputError(ValidationError):
    """An event's data does not match the step's ``input`` schema; retrying cannot help."""


ENV_MAX_BODY = "MOTIA_MAX_BODY_BYTES"  # Limits.max_body_bytes


def error_body(message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return body


def parse_body(raw: bytes, content_type: str | None, limit: int | None = None, *,
               browser: bool = False) -> tuple[Any, ApiResponse | None]:
    """Decode a request body: JSON when it says so (or, from a client that is not a browser,
    looks like it), text otherwise. ``browser``: the request carries an ``Origin`` header. A body
    over ``limit`` (the host's ``Limits.max_body_bytes``) is answered 413; None where the host
    refused larger bodies as they arrived (the local host's BodyLimit)."""
    if not raw:
        return None, None
    if limit is not None and len(raw) > limit:
        return None, ApiResponse(413, error_body(f"Request body too large ({len(raw)} bytes); the limit is "
                                                 f"{limit} bytes ({ENV_MAX_BODY})"))
    text = raw.decode("utf-8", errors="replace")
    ctype = (content_type or "").split(";")[0].strip().lower()
    # Bodies that look like JSON are parsed as JSON even when the client did not say so
    # (curl -d sends form-urlencoded); an explicit non-JSON type keeps the body as text. Not a
    # browser's: a page sends a form-encoded or untyped body without a CORS preflight, so this
    # would let a page of any origin run a step with a JSON body (CSRF past MOTIA_CORS_ORIGINS,
    # the template's CorsAllowOrigin); a page that sends JSON says so, and is preflighted.
    looks_json = not browser and text.lstrip()[:1] in ("{", "[") \
        and ctype in ("", "application/x-www-form-urlencoded")
    if ctype == "application/json" or ctype.endswith("+json") or looks_json:
        try:
            return jsonsafe.loads(text), None
        except jsonsafe.InvalidJSONError as exc:  # syntax, depth, digits, NaN: see jsonsafe
            return None, ApiResponse(400, error_body(f"Invalid JSON body: {exc.reason}", exc.errors or None))
    return text, None


@functools.lru_cache(maxsize=4096)
def is_async_handler(handler: Callable[..., Any]) -> bool:
    # Asked once per handler, not on every run (inspect's checks: ~1.5 % of a GET's CPU).
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(type(handler).__call__)


async def call_handler(handler: Callable[..., Any], *args: Any, timeout_s: float | None) -> Any:
    """Await an async handler, or run a plain function in a thread, within ``timeout_s``.

    A plain function's ``ctx`` makes blocking calls (``ctx.state.set(...)`` without ``await``
    writes): see sync_context.py."""
    if is_async_handler(handler):
        call: Awaitable[Any] = handler(*args)
    else:
        from .sync_context import blocking_context  # only plain-def handlers need it (cold start)

        loop = asyncio.get_running_loop()
        args = tuple(blocking_context(a, loop) if isinstance(a, FlowContext) else a for a in args)
        call = asyncio.to_thread(functools.partial(handler, *args))
    if timeout_s is None:
        return await call
    try:
        # A deadline on the caller's own task: wait_for wrapped every call in a task of its own,
        # a twentieth of a GET's CPU (bench/optimisations.md, round 2). Each run already has its
        # own task (a request's, a bus message's), so a handler's context changes stay in its run.
        # One timer per loop and deadline length, not one per run (deadline.py).
        async with deadline(timeout_s):
            return await call
    except TimeoutError:
        raise MotiaError(f"handler timed out after {timeout_s:g} s (infrastructure.handler.timeout)") from None


def _plain(body: Any) -> Any:
    if type(body) in _JSON_TYPES:  # isinstance against pydantic's metaclass costs ~1 % of a GET
        return body
    if isinstance(body, pydantic.BaseModel):
        return body.model_dump(mode="json", by_alias=True)
    return body


_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})


def _to_response(step: Step[ApiRouteConfig], result: Any) -> ApiResponse:
    if isinstance(result, ApiResponse):
        response = result
    elif (type(result) is dict or isinstance(result, Mapping)) and isinstance(result.get("status"), int):
        response = ApiResponse(result["status"], _plain(result.get("body")), dict(result.get("headers") or {}))
    else:
        raise MotiaError(
            f"step {step.name!r} must return {{'status': int, 'body': ...}}, it returned {type(result).__name__}"
        )
    schema = step.config.response_schema.get(response.status)
    if schema is not None:
        # Raises ValidationError; the caller turns it into a 500 naming the fields.
        schema.validate(response.body, what=f"response {response.status} of step {step.name!r}")
    if response.headers:
        response.headers = _sendable_headers(step, response.status, response.headers)
    return response


# What an HTTP/1.1 header line can carry: a name that is a token (RFC 9110), a value of latin-1
# text without control characters but tab (the ones uvicorn refuses). A CR or LF in a value that
# came from a client would split the header (header injection); uvicorn refused those, and the
# local host failed on other characters and on values that are not text, each as a bare 500
# naming neither the step nor the header.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def _sendable_headers(step: Step[ApiRouteConfig], status: int, headers: Mapping[Any, Any]) -> dict[str, str]:
    """The response's headers as text; raises ValidationError naming each one HTTP cannot carry."""
    out: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for name, value in headers.items():
        if type(value) is int or type(value) is float:
            value = str(value)  # as the AWS host and Express send a number
        field = f"headers.{name}"
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            errors.append({"field": field, "message": "not a header name: letters, digits and !#$%&'*+-.^_`|~ only"})
        elif not isinstance(value, str):
            errors.append({"field": field, "message": f"a header value is a string or a number, not "
                                                      f"{type(value).__name__}"})
        elif not _HEADER_VALUE.fullmatch(value):
            errors.append({"field": field, "message": "a header value is one line of latin-1 text (no CR, LF or "
                                                      "other control character but tab)"})
        else:
            out[name] = value
    if errors:
        raise ValidationError(f"response {status} of step {step.name!r} has headers HTTP cannot carry", errors)
    return out


async def run_api(runtime: Runtime, step: Step[ApiRouteConfig], request: ApiRequest,
                  trace_id: str | None = None) -> ApiResponse:
    """Validate the body, run middleware and the handler, and map every failure to a status."""
    config = step.config
    trace_id = trace_id or new_trace_id()
    if config.body_schema is not None:
        try:
            request["body"] = config.body_schema.validate(request["body"], what="request body")
        except ValidationError as exc:
            return ApiResponse(400, error_body("Validation error", exc.errors), {"x-trace-id": trace_id})
    ctx = runtime.context(step, trace_id)
    handler = step.handler
    assert handler is not None

    timeout_s = config.infrastructure.handler.timeout
    chain: Callable[[ApiRequest], Awaitable[Any]] | None = None
    if config.middleware:  # without any, the handler is awaited directly: no closure, no extra coroutine

        async def final(req: ApiRequest) -> Any:
            return await call_handler(handler, req, ctx, timeout_s=timeout_s)

        chain = final
        for middleware in reversed(config.middleware):
            chain = functools.partial(_middleware_call, middleware, ctx=ctx, next_=chain)

    token = runtime.observer.step_started(trace_id, step.name, {"type": "api", "path": config.path})
    error: BaseException | None = None
    try:
        with running(trace_id):
            if chain is None:
                result = await call_handler(handler, request, ctx, timeout_s=timeout_s)
            else:
                result = await chain(request)
        response = _to_response(step, result)
    except ValidationError as exc:
        error = exc
        # A logger built here only on failure: the context has one for the handler already.
        runtime.logger(step, trace_id).error(f"step failed: {exc}", {"errors": exc.errors})
        response = ApiResponse(500, error_body(str(exc), exc.errors))
    except Exception as exc:
        error = exc
        runtime.logger(step, trace_id).exception(f"step failed: {type(exc).__name__}: {exc}")
        response = ApiResponse(500, error_body("Internal Server Error"))
    finally:
        runtime.settle()  # the step's writes are committed before the response says they were made
        runtime.observer.step_finished(token, trace_id, step.name, error)
    response.headers.setdefault("x-trace-id", trace_id)
    return response


async def _middleware_call(
    middleware: Callable[..., Any], req: ApiRequest, *, ctx: Any, next_: Callable[[ApiRequest], Awaitable[Any]]
) -> Any:
    async def call_next(next_req: ApiRequest | None = None) -> Any:
        return await next_(next_req if next_req is not None else req)

    return await middleware(req, ctx, call_next)


async def run_event(runtime: Runtime, step: Step[EventConfig], event: Event) -> None:
    """Run an event step for one event; raises on failure so the host can retry."""
    config = step.config
    data = event.data
    if config.input is not None:
        try:
            data = config.input.validate(data, what=f"event {event.topic!r} for step {step.name!r}")
        except ValidationError as exc:
            raise InvalidInputError(str(exc), exc.errors) from None
    # A stream or state trigger's change says how many trigger hops led to it (triggers.py).
    depth = data.get("depth", 0) if config.type in ("stream", "state") and isinstance(data, dict) else 0
    await _run(runtime, step, event.trace_id, {"type": config.type, "topic": event.topic}, data, depth=depth)


async def run_cron(runtime: Runtime, step: Step[CronConfig], trace_id: str | None = None) -> str:
    """Run a cron step once, as a new trace; returns the trace id."""
    config = step.config
    trace_id = trace_id or new_trace_id()
    # A step declared with triggers: [...] takes (input, ctx) whatever fired it; cron's input is None.
    await _run(runtime, step, trace_id, {"type": "cron", "cron": config.cron}, *((None,) if step.unified else ()))
    return trace_id


async def _condition_holds(step: Step, ctx: Any, data: Any) -> bool:
    condition = getattr(step.config, "condition", None)
    if condition is None:
        return True
    result = condition(data, ctx)
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


async def _run(runtime: Runtime, step: Step[EventConfig | CronConfig], trace_id: str, trigger: dict[str, Any],
               *args: Any, depth: int = 0) -> None:
    ctx = runtime.context(step, trace_id)
    handler = step.handler
    assert handler is not None  # only a noop step has none, and nothing runs one
    token = runtime.observer.step_started(trace_id, step.name, trigger)
    error: BaseException | None = None
    try:
        with running(trace_id, depth):
            # The condition sees what the handler would (None for cron); False skips the run.
            if await _condition_holds(step, ctx, args[0] if args else None):
                await call_handler(handler, *args, ctx, timeout_s=step.config.infrastructure.handler.timeout)
            else:
                ctx.logger.debug("condition is false: handler skipped", {"trigger": trigger})
    except BaseException as exc:
        error = exc
        raise
    finally:
        runtime.settle()  # before the host acks the event (or the cron run ends)
        runtime.observer.step_finished(token, trace_id, step.name, error)

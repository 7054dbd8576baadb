"""The local host's JSON API under ``/__motia/`` (health, steps, queues, dead letters, streams,
state, cron, traces, logs), plus the Workbench's development tools: editing state, and minting
stream tokens so the page can watch streams that are not public.

The Workbench page is built on it; it is also handy from curl. It exists only in ``motia dev``
(the AWS host has nothing like it): it is a development tool with no auth of its own, answering
only the server's own names and page (trust.py: Host allow-list, exact Origin, no CORS).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse as _JSONResponse
from starlette.routing import Route

from ... import jsonsafe
from ...auth import mint_stream_token
from ...config import ApiRouteConfig, CronConfig, EventConfig, StateTriggerConfig, StreamTriggerConfig
from ...dispatch import run_cron
from ...errors import ConfigError, ValidationError
from ...project import is_step_of
from ...trace import new_trace_id
from .numbers import int64

if TYPE_CHECKING:
    from ...adapters.sqlite import SQLiteQueueStore
    from ...runtime import Runtime
    from .analytics import StreamAnalytics
    from .bus import LocalEventBus
    from .hub import Hub
    from .scheduler import CronScheduler
    from .traces import TraceRecorder
    from .workbench import WorkbenchFeed

# The queue listings' pages: 200 unless asked (what they always returned), at most 1,000 at once.
PAGE, MAX_PAGE = 200, 1000


class JSONResponse(_JSONResponse):
    """Every answer of this API: what was recorded before this version refused NaN or lone
    surrogates (a state value, a trace's detail) is shown as a browser would write it, never a 500."""

    def render(self, content: Any) -> bytes:
        return jsonsafe.dumps_tolerant(content)


# The Workbench's stream tokens: long enough for a page to reconnect within it, short enough
# that a copied one is soon worthless (the page asks for a new one on every reconnect).
WORKBENCH_TOKEN_TTL_S = 10 * 60


def _step_summary(step: Any) -> dict[str, Any]:
    c = step.config
    out: dict[str, Any] = {"name": c.name, "type": c.type, "flows": c.flows, "description": c.description,
                           "emits": [e.topic for e in c.emits], "file": str(step.file),
                           "virtualEmits": [e.topic for e in c.virtual_emits],
                           "virtualSubscribes": c.virtual_subscribes,
                           # Labels and conditional flags, which the flow diagram draws on edges.
                           "emitDetails": [e.model_dump(by_alias=True) | {"virtual": virtual}
                                           for virtual, emits in ((False, c.emits), (True, c.virtual_emits))
                                           for e in emits]}
    if isinstance(c, ApiRouteConfig):
        out |= {"method": c.method, "path": c.path, "pathParams": c.path_params,
                "queryParams": [q.model_dump(by_alias=True) for q in c.query_params],
                "bodySchema": c.body_schema.json_schema() if c.body_schema else None,
                "responseSchema": {str(k): v.json_schema() for k, v in c.response_schema.items()}}
    if isinstance(c, EventConfig):
        out |= {"subscribes": c.subscribes, "queue": c.infrastructure.queue.model_dump(by_alias=True),
                "input": c.input.json_schema() if c.input else None}
    if isinstance(c, StreamTriggerConfig):
        # Fed by a stream's changes, not by a topic: the flow view draws the stream as its source.
        out |= {"subscribes": [], "source": {"kind": "stream", "name": c.stream_name, "groupId": c.group_id,
                                             "itemId": c.item_id, "events": c.events}}
    if isinstance(c, StateTriggerConfig):
        out |= {"subscribes": [], "source": {"kind": "state", "name": c.group or "*", "key": c.key,
                                             "events": c.events}}
    if getattr(c, "condition", None) is not None:
        out["condition"] = getattr(c.condition, "__name__", "condition")
    out["trigger"] = step.trigger
    if isinstance(c, CronConfig):
        out["cron"] = c.cron
    return out


class AdminApi:
    """The ``/__motia/`` JSON API, given only what it reads and drives: the runtime (project,
    state, streams), the queue and the bus (messages, dead letters, redrive), the hub (who is
    subscribed), the trace recorder (traces, logs, memory), the Workbench feed (to tell open pages
    about state edits), the cron scheduler (next runs) and the stream analytics."""

    def __init__(self, runtime: Runtime, *, queue: SQLiteQueueStore, bus: LocalEventBus, hub: Hub,
                 traces: TraceRecorder, feed: WorkbenchFeed, scheduler: CronScheduler,
                 analytics: StreamAnalytics) -> None:
        self.runtime = runtime
        self.analytics = analytics
        self.queue = queue
        self.bus = bus
        self.hub = hub
        self.traces = traces
        self.feed = feed
        self.scheduler = scheduler
        self._background: set[asyncio.Task[None]] = set()  # manual cron runs, referenced until done

    def routes(self) -> list[Route]:
        return [
            Route("/__motia/health", self.health),
            Route("/__motia/steps", self.steps),
            Route("/__motia/queues/messages", self.messages),
            Route("/__motia/queues/dead-letters", self.dead_letters),
            Route("/__motia/queues/counts", self.counts),
            # {id}, not {id:int}: Starlette's int() of 5,000 digits was a 500 (numbers.py).
            Route("/__motia/queues/dead-letters/{id}/retry", self.redrive, methods=["POST"]),
            Route("/__motia/queues/dead-letters/{id}", self.drop, methods=["DELETE"]),
            Route("/__motia/streams", self.streams),
            Route("/__motia/streams/analytics", self.stream_analytics),
            Route("/__motia/streams/{name}/groups/{group}", self.stream_group),
            Route("/__motia/stream-token", self.stream_token, methods=["POST"]),
            Route("/__motia/state", self.state),
            Route("/__motia/state/{group}/{key:path}", self.put_state, methods=["PUT"]),
            Route("/__motia/state/{group}/{key:path}", self.delete_state, methods=["DELETE"]),
            Route("/__motia/cron", self.cron),
            Route("/__motia/cron/{name}/run", self.run_cron_now, methods=["POST"]),
            Route("/__motia/traces", self.list_traces),
            Route("/__motia/traces/{id}", self.trace),
            Route("/__motia/logs", self.logs),
        ]

    async def health(self, _: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "steps": len(self.runtime.project.steps),
                             "streams": len(self.runtime.streams), "memory": self.traces.memory()})

    async def steps(self, _: Request) -> JSONResponse:
        return JSONResponse({"steps": [_step_summary(s) for s in self.runtime.project.steps.values()],
                             "warnings": self.runtime.project.warnings})

    async def messages(self, request: Request) -> JSONResponse:
        # Not checked against MessageStatus: an unknown status lists nothing, as it always has.
        return self._page(request, "messages", request.query_params.get("status"))

    async def dead_letters(self, request: Request) -> JSONResponse:
        return self._page(request, "deadLetters", "dead")

    def _page(self, request: Request, key: str, status: Any) -> JSONResponse:
        """One page of the queue, oldest first: ``?limit=`` (1 to 1,000; 200) messages past ``?after=``
        (an id), and ``next``, the ``after`` of the page that follows (null on the last)."""
        query = request.query_params
        limit = int64(query.get("limit", str(PAGE)))
        after = int64(query["after"]) if "after" in query else None
        bad = [field for field, wrong in (("limit", limit is None or not 1 <= limit <= MAX_PAGE),
                                          ("after", "after" in query and after is None)) if wrong]
        if bad:
            return JSONResponse({"error": f"limit must be 1 to {MAX_PAGE} and after a message id",
                                 "errors": [{"field": f, "message": "not a whole number in range"} for f in bad]},
                                status_code=400)
        assert limit is not None  # bad names it otherwise
        items = self.queue.list(status=status, step=query.get("step"), limit=limit,
                                **({"after": after} if after is not None else {}))
        return JSONResponse({key: [m.to_dict() for m in items],
                             "next": items[-1].id if len(items) == limit else None})

    async def counts(self, _: Request) -> JSONResponse:
        return JSONResponse({"counts": self.queue.counts()})

    async def redrive(self, request: Request) -> JSONResponse:
        # An id that cannot exist (not a whole number, past SQLite's INTEGER) is a 404 too.
        id = int64(request.path_params["id"])
        ok = id is not None and self.bus.redrive(id)
        return JSONResponse({"retried": ok}, status_code=200 if ok else 404)

    async def drop(self, request: Request) -> JSONResponse:
        id = int64(request.path_params["id"])
        ok = id is not None and self.queue.drop(id)
        return JSONResponse({"dropped": ok}, status_code=200 if ok else 404)

    def _clients_of(self, stream: str) -> int:
        """Distinct connections subscribed to anything in ``stream`` (a client joining an item
        and its group counts once)."""
        return len({c for (name, _, _), members in self.hub.rooms.items() if name == stream for c in members})

    async def streams(self, _: Request) -> JSONResponse:
        hub = self.hub
        return JSONResponse({"connections": len(hub.connections), "streams": [
            {"name": s.name, "description": s.config.description, "public": s.config.public,
             "schema": s.config.schema_.json_schema(),
             "groups": await s.store.list_groups(s.name), "clients": self._clients_of(s.name),
             "subscribers": hub.subscriber_count(s.name), "framesPushed": hub.frames_pushed[s.name]}
            for s in self.runtime.streams.values()
        ]})

    async def stream_analytics(self, _: Request) -> JSONResponse:
        return JSONResponse(await self.analytics.answer())  # analytics.py: every worker's, via Redis

    async def stream_group(self, request: Request) -> JSONResponse:
        stream = self.runtime.streams.get(request.path_params["name"])
        if stream is None:
            return JSONResponse({"error": "Stream not found"}, status_code=404)
        return JSONResponse({"items": await stream.store.get_group(stream.name, request.path_params["group"])})

    async def state(self, request: Request) -> JSONResponse:
        group = request.query_params.get("group")
        if group is None:
            return JSONResponse({"groups": await self.runtime.state.list_groups()})
        return JSONResponse({"items": [{"key": k, "value": v} for k, v in await self.runtime.state.items(group)]})

    async def stream_token(self, request: Request) -> JSONResponse:
        """A short-lived token for one group (or item) of a stream, signed with this server's
        secret: what lets the Workbench watch a stream that is not public."""
        body, error = await _json_body(request)
        if error is not None:
            return _bad_request(error)
        if not isinstance(body, dict):
            return _bad_request("the body must be a JSON object: {streamName, groupId, id?}")
        name, group, item = body.get("streamName"), body.get("groupId"), body.get("id")
        if not isinstance(name, str) or not name:
            return _bad_request("streamName must be a non-empty string")
        if not isinstance(group, str) or not group:
            return _bad_request("groupId must be a non-empty string")
        if item is not None and (not isinstance(item, str) or not item):
            return _bad_request("id must be a non-empty string when given")
        if name not in self.runtime.streams:
            return JSONResponse({"error": f"Stream {name!r} not found"}, status_code=404)
        now = int(time.time())
        try:
            token = mint_stream_token(name, group, item, ttl_s=WORKBENCH_TOKEN_TTL_S, subject="workbench", now=now)
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        out = {"token": token, "expiresAt": now + WORKBENCH_TOKEN_TTL_S, "streamName": name, "groupId": group}
        return JSONResponse(out | ({"id": item} if item is not None else {}))

    def _state_changed(self, op: str, group: str, key: str) -> None:
        # Steps' writes reach open pages through the trace recorder; these are not a step's.
        self.feed.publish({"type": "state", "data": {"op": op, "group": group, "key": key}})

    async def put_state(self, request: Request) -> JSONResponse:
        group, key = request.path_params["group"], request.path_params["key"]
        value, error = await _json_body(request)
        if error is not None:
            return JSONResponse({"error": error, "group": group, "key": key}, status_code=400)
        try:
            await self.runtime.state.set(group, key, value)
        except ValidationError as exc:  # NaN, a lone surrogate...: refused, nothing stored
            return JSONResponse({"error": str(exc), "errors": exc.errors}, status_code=400)
        self._state_changed("set", group, key)
        return JSONResponse({"group": group, "key": key, "value": value})

    async def delete_state(self, request: Request) -> JSONResponse:
        group, key = request.path_params["group"], request.path_params["key"]
        # A key may hold null: whether it exists is asked of the group, not of get().
        if key not in {k for k, _ in await self.runtime.state.items(group)}:
            return JSONResponse({"error": f"No key {key!r} in state group {group!r}"}, status_code=404)
        await self.runtime.state.delete(group, key)
        self._state_changed("delete", group, key)
        return JSONResponse({"deleted": True, "group": group, "key": key})

    async def cron(self, _: Request) -> JSONResponse:
        next_runs = self.scheduler.next_runs
        return JSONResponse({"jobs": [
            {"name": s.name, "cron": s.config.cron,
             "nextRun": next_runs[s.name].isoformat() if s.name in next_runs else None}
            for s in self.runtime.project.cron_steps
        ]})

    async def run_cron_now(self, request: Request) -> JSONResponse:
        runtime = self.runtime
        step = runtime.project.steps.get(request.path_params["name"])
        if step is None or not is_step_of(step, "cron"):
            return JSONResponse({"error": "Cron step not found"}, status_code=404)
        trace_id = new_trace_id()

        async def run() -> None:
            try:
                await run_cron(runtime, step, trace_id)
            except Exception as exc:  # as a scheduled run: logged (and traced), never raised
                runtime.logger(step, trace_id).exception(f"cron run failed: {type(exc).__name__}: {exc}")

        # In the background, as a scheduled run; the trace id lets the page follow it.
        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return JSONResponse({"traceId": trace_id}, status_code=202)

    async def list_traces(self, request: Request) -> JSONResponse:
        limit = _int(request.query_params.get("limit"), 100)
        return JSONResponse({"traces": self.traces.traces(limit, request.query_params.get("step") or None)})

    async def trace(self, request: Request) -> JSONResponse:
        found = self.traces.trace(request.path_params["id"])
        if found is None:
            return JSONResponse({"error": "Trace not found (it may have been evicted)"}, status_code=404)
        return JSONResponse(found)

    async def logs(self, request: Request) -> JSONResponse:
        q = request.query_params
        return JSONResponse({"logs": self.traces.logs(q.get("traceId") or None, q.get("step") or None,
                                                      q.get("level") or None, _int(q.get("limit"), 1000))})


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 0) if value is not None else default
    except ValueError:
        return default


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _json_body(request: Request) -> tuple[Any, str | None]:
    """The request's JSON body, or what is wrong with it (for a 400)."""
    raw = await request.body()
    if not raw.strip():
        return None, "The body is empty: send a JSON value"
    try:
        return jsonsafe.loads(raw), None
    except jsonsafe.InvalidJSONError as exc:  # syntax, depth, digits, NaN: see jsonsafe
        return None, f"Invalid JSON: {exc.reason}"

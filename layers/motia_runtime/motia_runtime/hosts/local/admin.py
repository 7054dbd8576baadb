"""The local host's JSON API under ``/__motia/`` (health, steps, queues, dead letters, streams,
state, cron, traces, logs).

The Workbench page is built on it; it is also handy from curl.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ...config import ApiRouteConfig, CronConfig, EventConfig
from ...dispatch import run_cron
from ...trace import new_trace_id

if TYPE_CHECKING:
    from .app import LocalHost


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
    if isinstance(c, CronConfig):
        out["cron"] = c.cron
    return out


def admin_routes(host: LocalHost) -> list[Route]:
    runtime = host.runtime
    queue = host.queue_store
    background: set[asyncio.Task[None]] = set()  # manual cron runs, referenced until done

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "steps": len(runtime.project.steps), "streams": len(runtime.streams)})

    async def steps(_: Request) -> JSONResponse:
        return JSONResponse({"steps": [_step_summary(s) for s in runtime.project.steps.values()],
                             "warnings": runtime.project.warnings})

    async def messages(request: Request) -> JSONResponse:
        status = request.query_params.get("status")
        step = request.query_params.get("step")
        items = queue.list(status=status, step=step)  # type: ignore[arg-type]
        return JSONResponse({"messages": [m.to_dict() for m in items]})

    async def dead_letters(request: Request) -> JSONResponse:
        items = queue.list(status="dead", step=request.query_params.get("step"))
        return JSONResponse({"deadLetters": [m.to_dict() for m in items]})

    async def redrive(request: Request) -> JSONResponse:
        ok = host.bus.redrive(int(request.path_params["id"]))
        return JSONResponse({"retried": ok}, status_code=200 if ok else 404)

    async def drop(request: Request) -> JSONResponse:
        ok = queue.drop(int(request.path_params["id"]))
        return JSONResponse({"dropped": ok}, status_code=200 if ok else 404)

    def clients_of(stream: str) -> int:
        """Distinct connections subscribed to anything in ``stream`` (a client joining an item
        and its group counts once)."""
        return len({c for (name, _, _), members in host.hub.rooms.items() if name == stream for c in members})

    async def streams(_: Request) -> JSONResponse:
        return JSONResponse({"connections": len(host.hub.connections), "streams": [
            {"name": s.name, "description": s.config.description, "schema": s.config.schema_.json_schema(),
             "groups": await s.store.list_groups(s.name), "clients": clients_of(s.name),
             "subscribers": host.hub.subscriber_count(s.name), "framesPushed": host.hub.frames_pushed[s.name]}
            for s in runtime.streams.values()
        ]})

    async def stream_group(request: Request) -> JSONResponse:
        stream = runtime.streams.get(request.path_params["name"])
        if stream is None:
            return JSONResponse({"error": "Stream not found"}, status_code=404)
        return JSONResponse({"items": await stream.store.get_group(stream.name, request.path_params["group"])})

    async def state(request: Request) -> JSONResponse:
        group = request.query_params.get("group")
        if group is None:
            return JSONResponse({"groups": await runtime.state.list_groups()})
        return JSONResponse({"items": [{"key": k, "value": v} for k, v in await runtime.state.items(group)]})

    async def cron(_: Request) -> JSONResponse:
        return JSONResponse({"jobs": [
            {"name": s.name, "cron": s.config.cron,  # type: ignore[union-attr]
             "nextRun": host.scheduler.next_runs[s.name].isoformat() if s.name in host.scheduler.next_runs else None}
            for s in runtime.project.cron_steps
        ]})

    async def run_cron_now(request: Request) -> JSONResponse:
        step = runtime.project.steps.get(request.path_params["name"])
        if step is None or not isinstance(step.config, CronConfig):
            return JSONResponse({"error": "Cron step not found"}, status_code=404)
        trace_id = new_trace_id()

        async def run() -> None:
            try:
                await run_cron(runtime, step, trace_id)
            except Exception as exc:  # as a scheduled run: logged (and traced), never raised
                runtime.logger(step, trace_id).exception(f"cron run failed: {type(exc).__name__}: {exc}")

        # In the background, as a scheduled run; the trace id lets the page follow it.
        task = asyncio.create_task(run())
        background.add(task)
        task.add_done_callback(background.discard)
        return JSONResponse({"traceId": trace_id}, status_code=202)

    async def traces(request: Request) -> JSONResponse:
        limit = _int(request.query_params.get("limit"), 100)
        return JSONResponse({"traces": host.traces.traces(limit, request.query_params.get("step") or None)})

    async def trace(request: Request) -> JSONResponse:
        found = host.traces.trace(request.path_params["id"])
        if found is None:
            return JSONResponse({"error": "Trace not found (it may have been evicted)"}, status_code=404)
        return JSONResponse(found)

    async def logs(request: Request) -> JSONResponse:
        q = request.query_params
        return JSONResponse({"logs": host.traces.logs(q.get("traceId") or None, q.get("step") or None,
                                                      q.get("level") or None, _int(q.get("limit"), 1000))})

    return [
        Route("/__motia/health", health),
        Route("/__motia/steps", steps),
        Route("/__motia/queues/messages", messages),
        Route("/__motia/queues/dead-letters", dead_letters),
        Route("/__motia/queues/dead-letters/{id:int}/retry", redrive, methods=["POST"]),
        Route("/__motia/queues/dead-letters/{id:int}", drop, methods=["DELETE"]),
        Route("/__motia/streams", streams),
        Route("/__motia/streams/{name}/groups/{group}", stream_group),
        Route("/__motia/state", state),
        Route("/__motia/cron", cron),
        Route("/__motia/cron/{name}/run", run_cron_now, methods=["POST"]),
        Route("/__motia/traces", traces),
        Route("/__motia/traces/{id}", trace),
        Route("/__motia/logs", logs),
    ]


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 0) if value is not None else default
    except ValueError:
        return default

"""Lambda entry for cron steps: an EventBridge scheduled event in, ``dispatch.run_cron`` once.

Handler string: ``motia_runtime.hosts.aws.schedule.handler``; the step is ``MOTIA_STEP``. Each run
is a new trace. A failed run is logged and not raised: Lambda would otherwise retry the
asynchronous invocation twice, and a cron step runs once per tick, as it does locally.
"""

from __future__ import annotations

from typing import Any

from ...dispatch import run_cron
from ...errors import MotiaError
from ...trace import new_trace_id
from . import _gc, bootstrap


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    trace_id = new_trace_id()
    tick = event.get("time") if isinstance(event, dict) else None
    log = bootstrap.logger(entry="schedule", traceId=trace_id, step=bootstrap.step_name(), scheduledTime=tick)
    try:
        runtime = bootstrap.runtime()
        step = bootstrap.step("cron")
    except MotiaError as exc:
        log.exception(f"the schedule function cannot run its step: {exc}")
        return {"ok": False, "traceId": trace_id, "error": str(exc)}
    try:
        bootstrap.run(run_cron(runtime, step, trace_id))
    except Exception as exc:
        log.exception(f"cron run failed: {type(exc).__name__}: {exc}")
        return {"ok": False, "traceId": trace_id, "error": f"{type(exc).__name__}: {exc}"}
    log.info("cron run finished")
    return {"ok": True, "traceId": trace_id}


_gc.resume()  # the entry module is imported: the collector is back on (see _gc.py)

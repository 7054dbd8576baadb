"""The trace id of the step run in progress, for records that outlive the call.

The Lambda entry points set it around each step run; the DynamoDB stream store stamps it on
the records it writes, so the fan-out Lambda can log the same trace id when it pushes the
change (the StreamStore port carries no trace id of its own). Context variables follow
``await`` and ``asyncio.to_thread``, so concurrent runs in one process do not mix.
"""

from __future__ import annotations

from contextvars import ContextVar

from ...run_context import current_run

current_trace_id: ContextVar[str | None] = ContextVar("motia_current_trace_id", default=None)


def run_stamp() -> tuple[str | None, int]:
    """(trace id, trigger depth) of the run in progress, to stamp on the records a write makes.

    ``dispatch`` marks every step run (``trigger_routing.running``); the entry points' own
    ``current_trace_id`` covers writes made outside a handler (the WebSocket function's).
    """
    run = current_run()
    if run is not None:
        return run.trace_id, run.depth
    return current_trace_id.get(), 0

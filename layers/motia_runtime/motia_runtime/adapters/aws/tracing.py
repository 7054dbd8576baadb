"""The trace id and trigger depth of the step run in progress, for records that outlive the call.

``dispatch`` marks every handler run (``run_context.running``), as do the streams' join and
leave hooks; the DynamoDB stores stamp both on the records they write, so the fan-out can log
the writer's trace id and the triggers function can carry it (and stop trigger loops): the
StreamStore and StateStore ports carry neither. Context variables follow ``await`` and
``asyncio.to_thread``, so concurrent runs in one process do not mix.
"""

from __future__ import annotations

from ...run_context import current_run


def run_stamp() -> tuple[str | None, int]:
    """(trace id, trigger depth) of the run in progress; (None, 0) outside any run."""
    run = current_run()
    return (run.trace_id, run.depth) if run is not None else (None, 0)

"""The trace id of the step run in progress, for records that outlive the call.

The Lambda entry points set it around each step run; the DynamoDB stream store stamps it on
the records it writes, so the fan-out Lambda can log the same trace id when it pushes the
change (the StreamStore port carries no trace id of its own). Context variables follow
``await`` and ``asyncio.to_thread``, so concurrent runs in one process do not mix.
"""

from __future__ import annotations

from contextvars import ContextVar

current_trace_id: ContextVar[str | None] = ContextVar("motia_current_trace_id", default=None)

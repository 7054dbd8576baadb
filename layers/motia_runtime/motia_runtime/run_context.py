"""The step run in progress: its trace id and how many trigger hops led to it.

``dispatch`` marks every handler run with :func:`running`; whatever the run writes can then
carry them (local trigger publishing, the DynamoDB adapters' ``traceId``/``triggerDepth``
attributes). Context variables follow ``await`` and ``asyncio.to_thread``, so concurrent runs in
one process do not mix. Kept free of imports: the fan-out Lambda reads it without pydantic.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


# eq=False: never compared, and each method a dataclass generates is compiled at import (Python
# 3.11): ~0.6 M instructions of every Lambda cold start each (bench/optimisations.md, row 22).
@dataclass(frozen=True, slots=True, eq=False)
class RunInfo:
    trace_id: str
    depth: int = 0  # 0 for API, event and cron runs; n for the n-th trigger of a chain


_current: ContextVar[RunInfo | None] = ContextVar("motia_run", default=None)


def current_run() -> RunInfo | None:
    return _current.get()


class running:  # noqa: N801 - a context manager, used as the function it was
    """``with running(trace_id, depth):`` marks the code inside as one step run (a class, not a
    generator-based context manager: entered on every request)."""

    __slots__ = ("_info", "_token")

    def __init__(self, trace_id: str, depth: int = 0) -> None:
        self._info = RunInfo(trace_id, depth)

    def __enter__(self) -> RunInfo:
        self._token = _current.set(self._info)
        return self._info

    def __exit__(self, *_: object) -> None:
        _current.reset(self._token)

"""Hooks through which a host sees what steps do (the Workbench's traces are built on them).

The default observer does nothing, so the Lambda path pays nothing for it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Observer:
    """Override the hooks you need; each is called synchronously and must not raise."""

    #: Emits are always reported (one call per emit). State and stream calls are reported only
    #: when this is True: the runtime then wraps ``ctx.state`` and ``ctx.streams`` per run, which
    #: a host that does not trace (Lambda) should not pay for.
    records_operations: ClassVar[bool] = False

    def step_started(self, trace_id: str, step: str, trigger: dict[str, Any]) -> Any:
        """Return a token handed back to ``step_finished``."""
        return None

    def step_finished(self, token: Any, trace_id: str, step: str, error: BaseException | None) -> None:
        return None

    def operation(self, trace_id: str, step: str, kind: str, detail: dict[str, Any]) -> None:
        """An emit, state or stream call made by a step.

        ``kind`` is ``"emit"``, ``"state"`` or ``"stream"``; ``detail`` holds ``op`` (the method
        called) and its arguments, plus ``error`` when the call raised.
        """
        return None

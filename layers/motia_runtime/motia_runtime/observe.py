"""Hooks through which a host sees what steps do (the Workbench's traces are built on them).

The default observer does nothing, so the Lambda path pays nothing for it.
"""

from __future__ import annotations

from typing import Any


class Observer:
    """Override the hooks you need; each is called synchronously and must not raise."""

    def step_started(self, trace_id: str, step: str, trigger: dict[str, Any]) -> Any:
        """Return a token handed back to ``step_finished``."""
        return None

    def step_finished(self, token: Any, trace_id: str, step: str, error: BaseException | None) -> None:
        return None

    def operation(self, trace_id: str, step: str, kind: str, detail: dict[str, Any]) -> None:
        """An emit, state or stream call made by a step."""
        return None

"""The noop step's config model: ``NoopConfig`` (a diagram-only node, no handler).

Created on first use (see ``config``); import it from ``motia_runtime`` or ``motia_runtime.config``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from .config import _StepBase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .config import EmitSpec, InfraSpec


class NoopConfig(_StepBase):
    """A diagram-only node (an external or manual action); it has no handler."""

    type: Literal["noop"] = "noop"

    @model_validator(mode="after")
    def _no_emits(self) -> NoopConfig:
        if self.emits:
            raise ValueError("a noop step declares virtualEmits, not emits")
        return self

    if TYPE_CHECKING:
        def __init__(self, *, name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["noop"] = "noop") -> None: ...

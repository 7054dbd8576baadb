"""The cron step's config model: ``CronConfig`` (a scheduled step).

Created on first use (see ``config``); import it from ``motia_runtime`` or ``motia_runtime.config``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import field_validator

from .config import _StepBase
from .cron import validate_cron

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .config import EmitSpec, InfraSpec


class CronConfig(_StepBase):
    """A scheduled step: ``handler(ctx)`` runs on the cron expression, each run a new trace."""

    type: Literal["cron"] = "cron"
    cron: str
    #: ``condition(None, ctx)`` (sync or async) is asked before each run; False skips it.
    condition: Callable[..., Any] | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        validate_cron(value)
        return value

    if TYPE_CHECKING:
        def __init__(self, *, cron: str, name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["cron"] = "cron", condition: Callable[..., Any] | None = None) -> None: ...

"""The event step's config model: ``EventConfig`` (a queue consumer).

Created on first use (see ``config``); import it from ``motia_runtime`` or ``motia_runtime.config``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from .config import _schema, _StepBase
from .schema import Schema

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .config import EmitSpec, InfraSpec, SchemaSpec


class EventConfig(_StepBase):
    """A queue consumer: ``handler(input, ctx)`` runs for every event on a subscribed topic."""

    type: Literal["event"] = "event"
    subscribes: list[str] = Field(min_length=1)
    input: Schema | None = None
    #: ``condition(input, ctx)`` (sync or async) is asked before the handler; False skips it.
    condition: Callable[..., Any] | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: Any) -> Any:
        return _schema(value)

    if TYPE_CHECKING:
        def __init__(self, *, subscribes: Sequence[str],
                     name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["event"] = "event", input: SchemaSpec = None,
                     condition: Callable[..., Any] | None = None) -> None: ...

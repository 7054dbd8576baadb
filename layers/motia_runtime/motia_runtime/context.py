"""The handler context (``ctx``) and the emitter behind ``ctx.emit``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic
import pydantic_core

from .errors import EmitError
from .log import StepLogger
from .ports.events import Event
from .ports.state import StateStore
from .streams import Streams

if TYPE_CHECKING:
    from .project import Step
    from .runtime import Runtime


class Emitter:
    """``await ctx.emit({"topic": ..., "data": ..., "messageGroupId"?: ...})``.

    Only topics the step declares in ``emits`` may be emitted; anything else raises EmitError
    (Motia only prints a warning, and lets an empty ``emits`` emit anything: we refuse both).
    """

    __slots__ = ("_runtime", "_step", "_trace_id")

    def __init__(self, runtime: Runtime, step: Step, trace_id: str) -> None:
        self._runtime = runtime
        self._step = step
        self._trace_id = trace_id

    async def __call__(self, event: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        fields = {**(event or {}), **kwargs}
        topic = fields.get("topic")
        step = self._step
        if not isinstance(topic, str) or not topic:
            raise EmitError(f"step {step.name!r}: emit needs a 'topic' string")
        if topic not in step.config.emit_topics:
            declared = ", ".join(sorted(step.config.emit_topics)) or "none"
            raise EmitError(f"step {step.name!r} cannot emit {topic!r}: it is not in its emits (declared: {declared})")
        data = fields.get("data")
        if isinstance(data, pydantic.BaseModel):
            data = data.model_dump(mode="json", by_alias=True)
        try:
            pydantic_core.to_json(data)
        except pydantic_core.PydanticSerializationError as exc:
            raise EmitError(f"step {step.name!r}: data emitted on {topic!r} is not JSON-serialisable: {exc}") from None
        group = fields.get("messageGroupId", fields.get("message_group_id"))
        if group is not None and not isinstance(group, str):
            raise EmitError(f"step {step.name!r}: messageGroupId must be a string")
        if group is None:
            fifo = [s.name for s in self._runtime.project.subscribers(topic)
                    if s.config.infrastructure.queue.type == "fifo"]
            if fifo:
                raise EmitError(
                    f"step {step.name!r}: topic {topic!r} feeds FIFO queue(s) of {', '.join(fifo)}, "
                    "so emit needs a messageGroupId"
                )
        await self._runtime.bus.publish([Event(topic, data, self._trace_id, group)])
        self._runtime.observer.operation(self._trace_id, step.name, "emit", {"topic": topic, "data": data})


@dataclass(frozen=True, slots=True)
class FlowContext:
    """What a handler gets as ``ctx``."""

    trace_id: str
    flows: list[str]
    logger: StepLogger
    emit: Emitter
    state: StateStore
    streams: Streams
    step: str

    @property
    def traceId(self) -> str:  # noqa: N802 - Motia's spelling, kept as an alias
        return self.trace_id

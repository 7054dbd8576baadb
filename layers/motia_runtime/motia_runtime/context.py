"""The handler context (``ctx``) and the emitter behind ``ctx.emit``."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
import pydantic_core

from . import jsonsafe
from .errors import EmitError, ValidationError
from .log import StepLogger
from .observe import Observer
from .ports.events import Event, message_group_problem
from .ports.state import StatePage, StateStore
from .streams import Streams

if TYPE_CHECKING:
    from .project import Step
    from .runtime import Runtime
    from .state import State

T = TypeVar("T")


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
            jsonsafe.check(data, f"data emitted on {topic!r}")  # NaN, lone surrogates...: see jsonsafe
            pydantic_core.to_json(data)
        except pydantic_core.PydanticSerializationError as exc:
            raise EmitError(f"step {step.name!r}: data emitted on {topic!r} is not JSON-serialisable: {exc}") from None
        except ValidationError as exc:
            raise EmitError(f"step {step.name!r}: {exc}") from None
        group = fields.get("messageGroupId", fields.get("message_group_id"))
        if group is not None and not isinstance(group, str):
            raise EmitError(f"step {step.name!r}: messageGroupId must be a string")
        problem = None if group is None else message_group_problem(group)
        if group is None or problem is not None:
            fifo = [s.name for s in self._runtime.project.subscribers(topic)
                    if s.config.infrastructure.queue.type == "fifo"]
            if fifo and problem is not None:
                # Refused here on every host: on AWS the FIFO queue would refuse the send.
                raise EmitError(f"step {step.name!r}: topic {topic!r} feeds FIFO queue(s) of {', '.join(fifo)}: "
                                f"{problem}")
            if fifo:
                raise EmitError(
                    f"step {step.name!r}: topic {topic!r} feeds FIFO queue(s) of {', '.join(fifo)}, "
                    "so emit needs a messageGroupId"
                )
        await self._runtime.bus.publish([Event(topic, data, self._trace_id, group)])
        detail = {"op": "emit", "topic": topic, "data": data}
        if group is not None:
            detail["messageGroupId"] = group
        self._runtime.observer.operation(self._trace_id, step.name, "emit", detail)


class TracedState(StateStore):
    """``ctx.state`` of one run when the host records operations: each call is reported to the
    observer as a ``state`` operation (after it completes, or with ``error`` if it raised)."""

    def __init__(self, inner: State, observer: Observer, trace_id: str, step: str) -> None:
        self._inner = inner
        self._observer = observer
        self._trace_id = trace_id
        self._step = step

    async def _report(self, call: Awaitable[T], op: str, group: str, **detail: Any) -> T:
        try:
            result = await call
        except Exception as exc:
            self._observer.operation(self._trace_id, self._step, "state",
                                     {"op": op, "group": group, **detail, "error": f"{type(exc).__name__}: {exc}"})
            raise
        if op in ("get", "delete", "getGroup"):
            detail["result"] = result
        elif op == "getPage" and isinstance(result, StatePage):
            detail["keys"] = [key for key, _ in result.items]
        self._observer.operation(self._trace_id, self._step, "state", {"op": op, "group": group, **detail})
        return result

    async def get(self, group: str, key: str) -> Any | None:
        return await self._report(self._inner.get(group, key), "get", group, key=key)

    async def set(self, group: str, key: str, value: Any) -> Any:
        return await self._report(self._inner.set(group, key, value), "set", group, key=key, value=value)

    async def update(self, group: str, key: str, ops: Any) -> Any:
        return await self._report(self._inner.update(group, key, ops), "update", group, key=key,
                                  ops=list(ops))

    async def mutate(self, group: str, key: str, fn: Any) -> tuple[Any | None, Any]:
        return await self._inner.mutate(group, key, fn)

    async def delete(self, group: str, key: str) -> Any | None:
        return await self._report(self._inner.delete(group, key), "delete", group, key=key)

    async def get_group(self, group: str) -> list[Any]:
        return await self._report(self._inner.get_group(group), "getGroup", group)

    async def clear(self, group: str) -> None:
        await self._report(self._inner.clear(group), "clear", group)

    async def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage:
        # The page's values are not put in the trace (a page can be large): its keys are.
        page: StatePage = await self._report(self._inner.page(group, limit=limit, after=after, descending=descending),
                                             "getPage", group, limit=limit, after=after, descending=descending)
        return page

    async def list_groups(self) -> list[str]:
        return await self._inner.list_groups()

    async def items(self, group: str) -> list[tuple[str, Any]]:
        return await self._inner.items(group)

    def __getattr__(self, name: str) -> Any:
        # Store-specific extras (not part of the port) still work, unreported.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    getGroup = get_group  # noqa: N815 - Motia's spelling (reported like get_group, not passed through unseen)
    # Motia 1.0's name for get_group. Last in the class: an annotation after it would read ``list``
    # as this method, not the builtin.
    list = get_group


# eq=False: never compared, and each method a dataclass generates is compiled at import (Python
# 3.11): ~0.6 M instructions of every Lambda cold start each (bench/optimisations.md, row 22).
@dataclass(frozen=True, slots=True, eq=False)
class FlowContext:
    """What a handler gets as ``ctx``."""

    trace_id: str
    flows: list[str]
    logger: StepLogger
    emit: Emitter
    state: StateStore
    streams: Streams
    step: str
    #: Which trigger started this run: ``{"type": "api"|"http"|"event"|"queue"|"cron"|"stream"|"state",
    #: "index", ...}`` (Motia 1.0's ``ctx.trigger``).
    trigger: dict[str, Any] | None = None

    @property
    def traceId(self) -> str:  # noqa: N802 - Motia's spelling, kept as an alias
        return self.trace_id

"""The static shapes behind a project's typed module (``motia types`` writes ``motia_types.py``).

Nothing here runs: these Protocols describe, for a type checker, what a handler is given at run
time (``FlowContext``, ``Stream``, the emitter), with the parts that depend on the project left
as type parameters. The generated module fills them in per step and per stream: the data a
stream accepts and the items it returns, the events a step may emit. So mypy and pyright report
a wrong stream name, a wrong field or an undeclared topic where Motia's ``Handlers['Step']``
would, in the editor rather than at run time.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, Protocol, TypedDict, TypeVar

from .log import StepLogger
from .ports.state import StatePage
from .ports.streams import StreamChange

DataT = TypeVar("DataT", contravariant=True)  # what set() accepts
ItemT = TypeVar("ItemT")  # what get() returns: the data with id, _createdAt, __motia (in a list: invariant)
EmitT = TypeVar("EmitT", contravariant=True)  # the events a step may emit
StreamsT = TypeVar("StreamsT", covariant=True)  # the project's streams


class StreamMarker(TypedDict):
    """``item["__motia"]``: what a client joins to watch the item."""

    type: Literal["state-stream"]
    streamName: str
    groupId: str
    id: str


class UpdateOp(TypedDict):
    """One operation of ``stream.update(group_id, id, ops)`` (see update_ops.py)."""

    type: Literal["set", "merge", "increment", "decrement", "remove"]
    path: NotRequired[str]
    value: NotRequired[Any]
    by: NotRequired[int | float]


class Channel(TypedDict):
    groupId: str
    id: NotRequired[str]


class StreamEvent(TypedDict):
    type: str
    data: NotRequired[Any]


class HistoryEvent(TypedDict):
    """A sent event as ``history()`` returns it."""

    type: str
    data: Any
    groupId: str
    id: NotRequired[str]
    timestamp: int
    eventId: str


class TypedStream(Protocol[DataT, ItemT]):
    """``ctx.streams.<name>``, typed by the stream's schema (streams.Stream at run time)."""

    async def get(self, group_id: str, id: str) -> ItemT | None: ...
    async def set(self, group_id: str, id: str, data: DataT, *, ttl: float | None = None) -> ItemT: ...
    async def update(self, group_id: str, id: str, ops: Sequence[UpdateOp]) -> ItemT: ...
    async def delete(self, group_id: str, id: str) -> ItemT | None: ...
    async def get_group(self, group_id: str) -> list[ItemT]: ...
    async def getGroup(self, group_id: str) -> list[ItemT]: ...  # noqa: N802 - Motia's spelling
    async def list_groups(self) -> list[str]: ...
    async def listGroups(self) -> list[str]: ...  # noqa: N802 - Motia's spelling
    async def send(self, channel: Channel, event: StreamEvent) -> StreamChange: ...
    async def history(self, group_id: str, since: int | None = None) -> list[HistoryEvent] | None: ...
    # Motia 1.0's name for get_group; last, so the annotations above still mean the builtin list.
    async def list(self, group_id: str) -> builtins.list[ItemT]: ...


class TypedState(Protocol):
    """``ctx.state`` (state.State at run time): what a step may call, ``update`` included (the
    store port, ports.state.StateStore, lacks it: it is the State facade's)."""

    async def get(self, group: str, key: str) -> Any | None: ...
    async def set(self, group: str, key: str, value: Any) -> Any: ...
    async def update(self, group: str, key: str, ops: Sequence[UpdateOp]) -> Any: ...
    async def delete(self, group: str, key: str) -> Any | None: ...
    async def get_group(self, group: str) -> list[Any]: ...
    async def getGroup(self, group: str) -> list[Any]: ...  # noqa: N802 - Motia's spelling
    async def page(self, group: str, *, limit: int, after: str | None = None,
                   descending: bool = False) -> StatePage: ...
    async def clear(self, group: str) -> None: ...
    async def list_groups(self) -> list[str]: ...
    async def list(self, group: str) -> builtins.list[Any]: ...  # Motia 1.0's name for get_group; last


class _ContextFields(Protocol[StreamsT]):
    """What every step's ``ctx`` has, whether its handler is ``async def`` or plain ``def``."""

    @property
    def trace_id(self) -> str: ...
    @property
    def traceId(self) -> str: ...  # noqa: N802 - Motia's spelling
    @property
    def flows(self) -> list[str]: ...
    @property
    def logger(self) -> StepLogger: ...
    @property
    def streams(self) -> StreamsT: ...
    @property
    def step(self) -> str: ...
    @property
    def trigger(self) -> dict[str, Any]: ...  # {"type": "api"|"event"|..., "index", ...}


class TypedContext(_ContextFields[StreamsT], Protocol[EmitT, StreamsT]):
    """``ctx`` of a step (context.FlowContext at run time): ``emit`` takes only the events the step
    declares, ``streams`` has one typed attribute per project stream."""

    @property
    def state(self) -> TypedState: ...
    async def emit(self, event: EmitT, /) -> None: ...


# A plain ``def`` handler runs in a worker thread, where the same calls block and return their
# result (sync_context.py): the shapes above without ``async``, for the contexts of such steps.


class SyncTypedStream(Protocol[DataT, ItemT]):
    """``ctx.streams.<name>`` of a plain ``def`` handler: each call blocks until done."""

    def get(self, group_id: str, id: str) -> ItemT | None: ...
    def set(self, group_id: str, id: str, data: DataT, *, ttl: float | None = None) -> ItemT: ...
    def update(self, group_id: str, id: str, ops: Sequence[UpdateOp]) -> ItemT: ...
    def delete(self, group_id: str, id: str) -> ItemT | None: ...
    def get_group(self, group_id: str) -> list[ItemT]: ...
    def getGroup(self, group_id: str) -> list[ItemT]: ...  # noqa: N802 - Motia's spelling
    def list_groups(self) -> list[str]: ...
    def listGroups(self) -> list[str]: ...  # noqa: N802 - Motia's spelling
    def send(self, channel: Channel, event: StreamEvent) -> StreamChange: ...
    def history(self, group_id: str, since: int | None = None) -> list[HistoryEvent] | None: ...
    def list(self, group_id: str) -> builtins.list[ItemT]: ...  # Motia 1.0's name for get_group; last


class SyncTypedState(Protocol):
    """``ctx.state`` of a plain ``def`` handler: each call blocks until done."""

    def get(self, group: str, key: str) -> Any | None: ...
    def set(self, group: str, key: str, value: Any) -> Any: ...
    def update(self, group: str, key: str, ops: Sequence[UpdateOp]) -> Any: ...
    def delete(self, group: str, key: str) -> Any | None: ...
    def get_group(self, group: str) -> list[Any]: ...
    def getGroup(self, group: str) -> list[Any]: ...  # noqa: N802 - Motia's spelling
    def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage: ...
    def clear(self, group: str) -> None: ...
    def list_groups(self) -> list[str]: ...
    def list(self, group: str) -> builtins.list[Any]: ...  # Motia 1.0's name for get_group; last


class SyncTypedContext(_ContextFields[StreamsT], Protocol[EmitT, StreamsT]):
    """``ctx`` of a plain ``def`` handler (sync_context.blocking_context at run time)."""

    @property
    def state(self) -> SyncTypedState: ...
    def emit(self, event: EmitT, /) -> None: ...


class ApiResponseOf(TypedDict):
    """A response whose status was not declared in ``responseSchema`` (any status, any body)."""

    status: int
    body: NotRequired[Any]
    headers: NotRequired[Mapping[str, str]]


__all__ = ["ApiResponseOf", "Channel", "HistoryEvent", "StreamEvent", "StreamMarker", "SyncTypedContext",
           "SyncTypedState", "SyncTypedStream", "TypedContext", "TypedState", "TypedStream", "UpdateOp"]

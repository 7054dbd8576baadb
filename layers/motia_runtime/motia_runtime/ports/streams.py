"""StreamStore: where stream items live, and the change notifications hosts push from.

An item is stored as the caller's data plus ``id`` and ``_createdAt`` (Motia's Redis adapter
adds the same keys). Every change carries a ``timestamp`` from the store's clock that is
strictly greater than any earlier stamp of that item, and a per-item ``version``.

Stores that live in the host's process (memory, sqlite) call their listeners after each write;
the local host registers one that pushes frames to WebSocket clients. Stores whose changes are
observed elsewhere (DynamoDB Streams, Redis pub/sub) need no in-process listener.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..clock import MonotonicClock

ChangeType = Literal["create", "update", "delete", "event"]


@dataclass(frozen=True, slots=True)
class StreamChange:
    """One change in a stream group.

    ``data`` is the stored item for create/update/delete (the deleted item for delete) and
    ``{"type", "data"}`` for an ephemeral ``event`` sent with ``send``.
    """

    stream_name: str
    group_id: str
    id: str | None
    type: ChangeType
    data: Any
    timestamp: int
    version: int | None = None


ChangeListener = Callable[[StreamChange], None]
Mutation = Callable[[dict[str, Any] | None], dict[str, Any]]


class StreamStore(ABC):
    """Storage for stream items; see the module docstring for the item and change contract."""

    def __init__(self, clock: MonotonicClock | None = None) -> None:
        self.clock = clock or MonotonicClock()
        self._listeners: list[ChangeListener] = []

    # -- change notifications -------------------------------------------------------------
    def add_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        self._listeners.remove(listener)

    def _notify(self, change: StreamChange) -> None:
        for listener in self._listeners:
            listener(change)

    # -- primitives -----------------------------------------------------------------------
    @abstractmethod
    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        """Items of the group, oldest ``_createdAt`` first."""

    @abstractmethod
    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        """Replace the whole item (no merge); the change is ``create`` or ``update``."""

    @abstractmethod
    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        """Remove the item; None when there was nothing to remove."""

    @abstractmethod
    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        """Atomically replace the item with ``fn(current)``; ``fn`` may raise to write nothing."""

    @abstractmethod
    async def list_groups(self, stream: str) -> list[str]: ...

    async def send(self, stream: str, group_id: str, id: str | None, event: dict[str, Any]) -> StreamChange:
        """Deliver an ephemeral event to the group's (and the item's) subscribers; not stored."""
        change = StreamChange(stream, group_id, id, "event", event, self.clock.tick())
        self._notify(change)
        return change

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""


def stored_item(data: dict[str, Any], id: str, created_at: int) -> dict[str, Any]:
    """The item as stores keep and return it: the data plus ``id`` and ``_createdAt``."""
    return {**data, "id": id, "_createdAt": created_at}

"""StreamStore: where stream items live, and the change notifications hosts push from.

This is the port a stream's ``baseConfig: {storageType: "custom", factory}`` implements: subclass
:class:`StreamStore`, implement the six abstract methods, and run the contract suite
(``motia_runtime.testing.store_contract``) against it; see docs/storage.md.

An item is stored as the caller's data plus ``id`` and ``_createdAt`` (Motia's Redis adapter
adds the same keys). Every change carries a ``timestamp`` that is strictly greater than any
earlier stamp of that item, and a per-item ``version`` (1 on create, +1 per change).

Notifications: stores that live in the host's process (memory, sqlite) call their listeners
after each write. Stores shared by several processes (Redis) call them from their change
feed instead, for every process's writes including their own, so a host gets each change
exactly once. Stores whose changes are observed elsewhere (DynamoDB Streams) never call them.
Listeners run on the event loop's thread and must not block.

Expiry: a store that removes items past their TTL itself (``expire_due``) also awaits its expiry
listeners with each removal's ``delete``, in one process only however many share the store: the
local host runs the stream's triggers from them, as the AWS triggers function does from the
REMOVE record DynamoDB's TTL deletion leaves in the table's stream.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..clock import MonotonicClock
from ..errors import StreamError
from ..limits import DEFAULTS

ChangeType = Literal["create", "update", "delete", "event"]


# init=False: the __init__ below. A frozen dataclass's own sets each field through a lookup of
# object.__setattr__: 4.0 µs for these eight against 1.3 µs through the slots' setters, paid
# by every set() (bench/optimisations.md, S7). Still frozen, hashable and compared by value.
@dataclass(frozen=True, slots=True, init=False)
class StreamChange:
    """One change in a stream group.

    ``data`` is the stored item for create/update/delete (the deleted item for delete) and
    ``{"type", "data"}`` for an ephemeral ``event`` sent with ``send``. ``event_id`` names a
    sent event uniquely, so a client can drop one delivered twice (replay, fan-out retries).
    """

    stream_name: str
    group_id: str
    id: str | None
    type: ChangeType
    data: Any
    timestamp: int
    version: int | None = None
    event_id: str | None = None

    if TYPE_CHECKING:  # the signature _change_init's function has, for type checkers
        def __init__(self, stream_name: str, group_id: str, id: str | None, type: ChangeType, data: Any,
                     timestamp: int, version: int | None = None, event_id: str | None = None) -> None: ...


def _change_init() -> Callable[..., None]:
    slot = StreamChange.__dict__
    s_stream, s_group, s_id, s_type, s_data, s_ts, s_version, s_event = (
        slot[name].__set__ for name in ("stream_name", "group_id", "id", "type", "data", "timestamp", "version",
                                        "event_id"))

    def init(self: StreamChange, stream_name: str, group_id: str, id: str | None, type: ChangeType, data: Any,
                 timestamp: int, version: int | None = None, event_id: str | None = None) -> None:
        s_stream(self, stream_name)
        s_group(self, group_id)
        s_id(self, id)
        s_type(self, type)
        s_data(self, data)
        s_ts(self, timestamp)
        s_version(self, version)
        s_event(self, event_id)

    init.__name__ = init.__qualname__ = "__init__"
    return init


StreamChange.__init__ = _change_init()  # type: ignore[method-assign]


@dataclass(frozen=True, slots=True)
class HistoryPolicy:
    """How long (``window_s``) and how many (``max_events``, per group) sent events a store keeps
    for one stream (``StreamConfig.history``)."""

    window_s: int
    max_events: int = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


ChangeListener = Callable[[StreamChange], None]
ExpiryListener = Callable[[StreamChange], Awaitable[None]]
Mutation = Callable[[dict[str, Any] | None], dict[str, Any]]


class StreamStore(ABC):
    """Storage for stream items; see the module docstring for the item and change contract.

    ``clock`` stamps changes. The local host also ticks it for a ``sync`` frame's stamp just
    before it reads the snapshot, so a write that lands after that read must be stamped above
    it: a store shared by several processes makes its reads carry ``clock.last`` to the shared
    clock (the Redis store does), and keeps its own clock advanced past every stamp it sees.
    """

    def __init__(self, clock: MonotonicClock | None = None) -> None:
        self.clock = clock or MonotonicClock()
        self._listeners: list[ChangeListener] = []
        self._resync_listeners: list[Callable[[], None]] = []
        self._expiry_listeners: list[ExpiryListener] = []
        self._history_policies: dict[str, HistoryPolicy] = {}
        self._default_policy = HistoryPolicy(DEFAULTS.stream_replay_s)

    # -- history policy ---------------------------------------------------------------------
    def set_history_policy(self, stream: str, policy: HistoryPolicy) -> None:
        """Keep ``stream``'s sent events as ``policy`` says (the runtime sets each stream's)."""
        self._history_policies[stream] = policy

    def set_default_history_policy(self, policy: HistoryPolicy) -> None:
        """The policy of a stream nobody set one for (the runtime sets its limits' replay window)."""
        self._default_policy = policy

    def history_policy(self, stream: str) -> HistoryPolicy:
        """The stream's policy; a stream nobody set one for keeps the default (``MOTIA_STREAM_REPLAY_S``
        seconds, as the host's limits say)."""
        return self._history_policies.get(stream) or self._default_policy

    # -- change notifications -------------------------------------------------------------
    def add_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        self._listeners.remove(listener)

    def _notify(self, change: StreamChange) -> None:
        for listener in self._listeners:
            listener(change)

    def add_resync_listener(self, listener: Callable[[], None]) -> None:
        """Called when the store may have missed changes (its change feed was cut and is back):
        whoever pushed from the listeners must make its clients read a fresh snapshot."""
        self._resync_listeners.append(listener)

    def _notify_resync(self) -> None:
        for listener in self._resync_listeners:
            listener()

    def add_expiry_listener(self, listener: ExpiryListener) -> None:
        """Awaited with the ``delete`` of each item this store removes because its TTL ran out
        (see the module docstring); it must not raise."""
        self._expiry_listeners.append(listener)

    async def _notify_expired(self, change: StreamChange) -> None:
        """Hand an expired item's ``delete`` to the expiry listeners; the store has given it to
        the change listeners already (or its change feed does)."""
        for listener in self._expiry_listeners:
            await listener(change)

    # -- primitives -----------------------------------------------------------------------
    @abstractmethod
    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        """The stored item (data + ``id`` + ``_createdAt``), or None; a copy the caller may change."""

    @abstractmethod
    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        """Items of the group, oldest ``_createdAt`` first (then by id)."""

    @abstractmethod
    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        """Replace the whole item (no merge); the change is ``create`` (version 1) or ``update``.

        ``_createdAt`` is the stamp of the item's creation and survives updates.
        """

    async def set_json(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                       encoded: bytes) -> StreamChange:
        """``set`` with the item already encoded: ``encoded`` is ``data`` as JSON (UTF-8), checked
        by the stream API. A store that keeps JSON text writes these bytes instead of encoding the
        item again. The default is ``set``."""
        return await self.set(stream, group_id, id, data)

    @abstractmethod
    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        """Remove the item; the change carries the removed item. None when there was nothing."""

    @abstractmethod
    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        """Atomically replace the item with ``fn(current)`` (``current`` is None when missing).

        ``fn`` may raise to write nothing, and may be called more than once when the store
        retries after a concurrent write, so it must not have side effects.
        """

    @abstractmethod
    async def list_groups(self, stream: str) -> list[str]:
        """Groups of the stream that hold at least one item, sorted."""

    async def send(self, stream: str, group_id: str, id: str | None, event: dict[str, Any]) -> StreamChange:
        """Deliver an ephemeral event to the group's (and the item's) subscribers; not stored."""
        change = StreamChange(stream, group_id, id, "event", event, self.clock.tick(), event_id=uuid.uuid4().hex)
        self._notify(change)
        return change

    async def events_since(self, stream: str, group_id: str, since: int) -> list[StreamChange] | None:
        """The group's ``send()`` events stamped after ``since``, oldest first, for a client that
        rejoins with ``since``; None when this store keeps no history of sent events (the
        default: the client then gets a ``resync`` event, unless its host keeps a log itself)."""
        return None

    async def history(self, stream: str, group_id: str, since: int | None) -> list[StreamChange] | None:
        """The group's sent events stamped after ``since``, oldest first, from what the store keeps
        (``StreamConfig.history``); None when some may be missing: ``since`` is older than the
        window, than the newest event a count bound dropped, or than the store's history itself.
        ``since=None``: every event kept (None only when the store keeps no history).

        The default, for stores written before this method existed, answers from
        ``events_since`` within the window (None: no history kept, the client gets a resync)."""
        floor = now_ms() - self.history_policy(stream).window_s * 1000
        if since is not None and since < floor:
            return None
        events = await self.events_since(stream, group_id, floor if since is None else since)
        return None if events is None else [e for e in events if e.timestamp >= floor]

    async def set_expiring(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                           expires_at: int) -> StreamChange:
        """``set`` for an item that expires at ``expires_at`` (epoch ms): from then on reads do not
        return it, and the store removes it with a ``delete`` change (``expire_due``, or the
        database's own TTL). A later ``set`` without a TTL makes it permanent again."""
        raise StreamError(f"{type(self).__name__} does not support item TTLs (set(..., ttl=...))")

    async def mutate_expiring(self, stream: str, group_id: str, id: str, fn: Mutation,
                              expires_at: int | None) -> StreamChange:
        """``mutate`` that also sets the item's expiry, in the same atomic write: at ``expires_at``
        (epoch ms) as ``set_expiring`` does, or never (None) as ``set`` does; ``mutate`` keeps it.
        ``set(..., ttl=)`` on an item a trigger watches writes through it, so the item the trigger
        gets as "before" is the one this write replaced, however many writers race. Default, for a
        store without TTLs (nothing to clear): ``mutate`` when ``expires_at`` is None."""
        if expires_at is None:
            return await self.mutate(stream, group_id, id, fn)
        raise StreamError(f"{type(self).__name__} does not support item TTLs (set(..., ttl=...))")

    async def expire_due(self) -> int:
        """Remove the items whose TTL ran out, each notified as a ``delete`` change as a delete
        would be and handed to the expiry listeners (``_notify_expired``), and drop history past
        its window; returns how many items went. Hosts with a process call it periodically (the
        stores this package ships do, from ``astart``). Default: nothing."""
        return 0

    def settle(self) -> None:  # noqa: B027 - optional hook
        """Make every write this store has acknowledged durable now: called before a host answers
        for a step's writes (an API response). For a store that commits writes in groups (SQLite,
        ``Database.join_group``); the default commits each write as it makes it, so nothing."""

    async def astart(self) -> None:  # noqa: B027 - optional hook
        """Connect and start the change feed; hosts await it before serving. Default: nothing."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""


def stored_item(data: dict[str, Any], id: str, created_at: int) -> dict[str, Any]:
    """The item as stores keep and return it: the data plus ``id`` and ``_createdAt``."""
    return {**data, "id": id, "_createdAt": created_at}

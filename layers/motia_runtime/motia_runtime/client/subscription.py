"""Item and group subscriptions: state, callbacks and async iterators.

A subscription is created by ``StreamClient.subscribe_item`` / ``subscribe_group`` and is fed
frames by the client. Its life: ``pending`` (join sent, waiting for the ``sync``) → ``live``;
back to ``pending`` while the client reconnects and rejoins; ``closed`` after ``close()`` or
when the client closes; ``failed`` when the server refused the join (error frame) or the
client's credentials (the error is raised from ``ready()`` and from every iterator).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from ..errors import StreamError
from ..protocol import Subscription as WireSubscription
from .frames import Room, ServerFrame
from .state import GroupState, ItemState

if TYPE_CHECKING:
    from .connection import StreamClient

log = logging.getLogger("motia_runtime.client")

S = TypeVar("S")
Item = dict[str, Any]
SubscriptionStatus = Literal["pending", "live", "closed", "failed"]

RESYNC = "resync"  # the custom event a server sends when it cannot replay what was missed
# The server's presence events (motia_runtime.presence; named here so the client does not load
# the config models that module needs).
PRESENCE_EVENTS = frozenset({"presence.sync", "presence.join", "presence.leave"})
SEEN_EVENT_IDS = 1024  # custom event ids remembered to drop repeats (replay overlap, retries)


@dataclass(frozen=True, slots=True)
class Change(Generic[S]):
    """One applied frame: ``kind`` is sync/create/update/delete, or ``event`` for a custom event
    (``event_type`` names it and ``data`` is its payload). ``state`` is the state after it."""

    kind: str
    id: str | None
    data: Any
    state: S
    timestamp: int
    version: int | None = None
    event_type: str | None = None


_END = object()
_callback_tasks: set[asyncio.Future[Any]] = set()


class _ValueQueue:
    """An unbounded queue behind one async iterator; ends with ``_END`` or an exception."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, value: Any) -> None:
        self.queue.put_nowait(value)

    def __aiter__(self) -> _ValueQueue:
        return self

    async def __anext__(self) -> Any:
        value = await self.queue.get()
        if value is _END:
            self.queue.put_nowait(_END)  # stay ended for any later __anext__
            raise StopAsyncIteration
        if isinstance(value, BaseException):
            self.queue.put_nowait(value)
            raise value
        return value


def _call(fn: Callable[..., Any], *args: Any) -> None:
    """Run a user callback; a coroutine callback is scheduled, an exception is logged, never raised
    into the client's read loop (one bad listener must not stop the others)."""
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            _callback_tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(_callback_tasks.discard)
    except Exception:
        log.exception("stream subscription callback %r raised", fn)


class StreamSubscription(Generic[S]):
    """Common part of item and group subscriptions."""

    def __init__(self, client: StreamClient, stream: str, group: str, id: str | None,
                 reducer: ItemState | GroupState) -> None:
        self._client = client
        self.wire = WireSubscription(stream, group, id, str(uuid.uuid4()))
        self._reducer = reducer
        self.status: SubscriptionStatus = "pending"
        self.error: BaseException | None = None
        self._change_listeners: list[Callable[[S], Any]] = []
        self._event_listeners: dict[str, list[Callable[[Any], Any]]] = {}
        self._error_listeners: list[Callable[[BaseException], Any]] = []
        # Weak: an iterator the caller dropped stops being fed instead of queueing states forever.
        self._state_queues: weakref.WeakSet[_ValueQueue] = weakref.WeakSet()
        self._change_queues: weakref.WeakSet[_ValueQueue] = weakref.WeakSet()
        self._synced = asyncio.Event()
        self._resync_listeners: list[Callable[[Any], Any]] = []
        self.last_timestamp: int | None = None  # of the newest frame applied: ``since`` on a rejoin
        self.resyncs = 0  # times the server said events were missed
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        # Presence (streams that enable it): this client's state, sent with every (re)join, and
        # who is in the group, by subscription id, kept from presence.sync/join/leave events.
        self.presence_state: Any = None
        self.members: dict[str, dict[str, Any]] = {}
        self._presence_listeners: list[Callable[[list[dict[str, Any]]], Any]] = []

    # -- what users read -------------------------------------------------------------------
    @property
    def room(self) -> Room:
        return self.wire.room

    @property
    def state(self) -> S:
        raise NotImplementedError

    @property
    def synced(self) -> bool:
        return self._reducer.synced

    async def ready(self, timeout: float | None = None) -> S:
        """Wait for the first ``sync`` and return the state; raises the error if the join failed."""
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no sync for {self.describe()} within {timeout}s") from None
        if self.error is not None:
            raise self.error
        if not self.synced:
            raise StreamError(f"subscription {self.describe()} was closed before its first sync")
        return self.state

    def describe(self) -> str:
        stream, group, id = self.room
        return f"{stream}/{group}" + (f"/{id}" if id is not None else "")

    # -- callbacks (Motia: addChangeListener, onEvent, offEvent) ----------------------------
    def on_change(self, fn: Callable[[S], Any]) -> Callable[[], None]:
        """Call ``fn(state)`` after each change; returns a function that removes it."""
        self._change_listeners.append(fn)
        return lambda: self._change_listeners.remove(fn) if fn in self._change_listeners else None

    def on_event(self, type: str, fn: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``fn(data)`` for each custom event of ``type`` sent with ``streams.<name>.send``."""
        self._event_listeners.setdefault(type, []).append(fn)
        return lambda: self.off_event(type, fn)

    def off_event(self, type: str, fn: Callable[[Any], Any]) -> None:
        listeners = self._event_listeners.get(type, [])
        if fn in listeners:
            listeners.remove(fn)

    def on_presence(self, fn: Callable[[list[dict[str, Any]]], Any]) -> Callable[[], None]:
        """Call ``fn(members)`` whenever who is in the group changes (each member:
        ``{"key", "subscriptionId", "state", "joinedAt"}``); returns the function that stops it."""
        self._presence_listeners.append(fn)
        return lambda: self._presence_listeners.remove(fn) if fn in self._presence_listeners else None

    async def send_event(self, type: str, data: Any = None) -> None:
        """Send a client event to this group (or item), e.g. ``send_event("typing", {"who": "ann"})``.
        The stream must accept it (``client_events``: type, schema, rate per connection); a refusal
        comes back as an ``error`` event (``on_event("error", fn)``), the connection stays. Raises
        ``StreamConnectionError`` when not connected: such events are not queued for later."""
        self._client._send_event(self, type, data)

    def on_resync(self, fn: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``fn(data)`` (``{"reason", "since"}``) when, on a rejoin, the server could not
        replay every custom event sent while this client was away. The state itself is whole
        again after the sync that follows; only those events are lost."""
        self._resync_listeners.append(fn)
        return lambda: self._resync_listeners.remove(fn) if fn in self._resync_listeners else None

    def on_error(self, fn: Callable[[BaseException], Any]) -> Callable[[], None]:
        """Call ``fn(error)`` if the join is refused or the client's credentials are."""
        self._error_listeners.append(fn)
        return lambda: self._error_listeners.remove(fn) if fn in self._error_listeners else None

    # -- iterators ---------------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[S]:
        """The state now (if synced), then the new state after each change."""
        queue = self._new_queue(self._state_queues)
        if self.synced and self.status != "failed":
            queue.put(self.state)
        return queue

    def changes(self) -> AsyncIterator[Change[S]]:
        """Every applied frame from now on, custom events included, as ``Change`` objects."""
        return self._new_queue(self._change_queues)

    def _new_queue(self, queues: weakref.WeakSet[_ValueQueue]) -> _ValueQueue:
        queue = _ValueQueue()
        if self.error is not None:
            queue.put(self.error)
        elif self.status == "closed":
            queue.put(_END)
        else:
            queues.add(queue)
        return queue

    async def close(self) -> None:
        """Leave: the server stops sending; iterators end."""
        if self.status in ("closed", "failed"):
            return
        await self._client._leave(self)
        self._end()

    async def __aenter__(self) -> StreamSubscription[S]:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- called by the client ------------------------------------------------------------------
    def _rejoining(self) -> int | None:
        """Called before a rejoin; returns the ``since`` to send (None before the first sync)."""
        if self.status == "live":
            self.status = "pending"
        self._reducer.rejoin()
        return self.last_timestamp

    def _seen_before(self, event_id: str | None) -> bool:
        if event_id is None:
            return False
        if event_id in self._seen:
            return True
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > SEEN_EVENT_IDS:
            self._seen.discard(self._seen_order.popleft())
        return False

    def _stamp(self, timestamp: int) -> None:
        if self.last_timestamp is None or timestamp > self.last_timestamp:
            self.last_timestamp = timestamp

    def _deliver(self, frame: ServerFrame) -> None:
        if self.status in ("closed", "failed"):
            return
        if frame.kind == "event":
            if self._seen_before(frame.event_id):
                return
            self._stamp(frame.timestamp)
            change = Change(kind="event", id=frame.id, data=frame.data, state=self.state,
                            timestamp=frame.timestamp, event_type=frame.event_type)
            if frame.event_type in PRESENCE_EVENTS:
                self._presence(frame.event_type, frame.data)
            if frame.event_type == RESYNC:
                self.resyncs += 1
                log.info("%s: the server could not replay every event missed while away: %r", self.describe(),
                         frame.data)
                for fn in list(self._resync_listeners):
                    _call(fn, frame.data)
            for fn in list(self._event_listeners.get(frame.event_type or "", [])):
                _call(fn, frame.data)
            for queue in list(self._change_queues):
                queue.put(change)
            return
        first = not self._reducer.synced
        before = self.state
        if not self._reducer.apply(frame):
            return
        self._stamp(frame.timestamp)
        if frame.kind == "sync":
            self.status = "live"
            self._synced.set()
        state = self.state
        change = Change(kind=frame.kind, id=frame.id, data=frame.data, state=state, timestamp=frame.timestamp,
                        version=frame.version)
        for queue in list(self._change_queues):
            queue.put(change)
        # A resync after a reconnect that finds nothing new is not a change for state watchers.
        if first or state != before:
            for fn in list(self._change_listeners):
                _call(fn, state)
            for queue in list(self._state_queues):
                queue.put(state)

    def _presence(self, kind: str, data: Any) -> None:
        if kind == "presence.sync":
            # Everyone but this client: its own presence.join follows.
            self.members = {m["subscriptionId"]: m for m in data or [] if isinstance(m, dict) and "subscriptionId" in m}
        elif isinstance(data, dict) and "subscriptionId" in data:
            if kind == "presence.join":
                self.members[data["subscriptionId"]] = data
            else:
                self.members.pop(data["subscriptionId"], None)
        members = list(self.members.values())
        for fn in list(self._presence_listeners):
            _call(fn, members)

    def _fail(self, error: BaseException) -> None:
        if self.status in ("closed", "failed"):
            return
        self.status = "failed"
        self.error = error
        self._synced.set()  # wake ready(), which raises
        for fn in list(self._error_listeners):
            _call(fn, error)
        for queue in (*self._state_queues, *self._change_queues):
            queue.put(error)

    def _end(self) -> None:
        if self.status in ("closed", "failed"):
            return
        self.status = "closed"
        self._synced.set()
        for queue in (*self._state_queues, *self._change_queues):
            queue.put(_END)


class ItemSubscription(StreamSubscription[Item | None]):
    """One item; the state is the item, or None when it does not exist (or was deleted)."""

    def __init__(self, client: StreamClient, stream: str, group: str, id: str) -> None:
        self._item = ItemState()  # the reducer, typed as what it is
        super().__init__(client, stream, group, id, self._item)

    @property
    def state(self) -> Item | None:
        return self._item.value


class GroupSubscription(StreamSubscription[list[Item]]):
    """A whole group; the state is the list of its items."""

    def __init__(self, client: StreamClient, stream: str, group: str, sort_key: str | None = None) -> None:
        self._group = GroupState(sort_key)  # the reducer, typed as what it is
        super().__init__(client, stream, group, None, self._group)

    @property
    def state(self) -> list[Item]:
        return self._group.items

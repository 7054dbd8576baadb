"""Subscriptions and fan-out for the local host's WebSocket clients.

The hub listens to the stream stores' change notifications, encodes each change once and queues
it to every connection subscribed to the item's room or its group's room (one copy per
connection: Motia's clients route a frame to both their item and group listeners themselves).

Each connection has its own bounded outbox (``MOTIA_WS_OUTBOX_FRAMES``, default 10,000 frames: the
settings' ``Limits.ws_outbox_frames``) drained by its own task, so a slow client never delays the
others. Both exist only while frames wait: a frame that can be written at once is, so an idle or
keeping-up connection holds no queue and no task (memory per idle subscriber,
bench/optimisations.md). One that falls that far behind is dropped with a reason (logged, and close
code 1013 when the close can still reach it): dropping frames silently would leave it with a wrong
state, while a client that reconnects rejoins, gets a fresh sync, and gets the custom events it
missed replayed (see ``replay.py``).

The hub also records sent events in the replay log, since it sees every change anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ...limits import DEFAULTS
from ...ports.streams import StreamChange
from ...protocol import Room, Subscription, change_frame, encode, rooms_for
from ...stream_stats import StreamStats
from .frames import Wire, text_frame
from .replay import EventLog

MAX_OUTBOX = DEFAULTS.ws_outbox_frames
TOO_SLOW = 1013  # "try again later": reconnect, rejoin, resync
CLOSED = "closed"  # a connection's ``dropped`` once it is detached: no more frames for it
DETACH_SLICE = 500  # rooms a closing connection leaves per turn of the event loop (~0.5 ms)
_ids = itertools.count(1)


@dataclass(slots=True)
class TokenBucket:
    """A connection's budget of client events: ``burst`` tokens, refilled at ``rate`` per second."""

    tokens: float | None = None
    at: float = 0.0

    def take(self, rate: float, burst: int) -> bool:
        now = time.monotonic()
        tokens = burst if self.tokens is None else min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        if tokens < 1:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1
        return True


@dataclass(eq=False, slots=True)
class Connection:
    send_text: Callable[[str], Awaitable[None]]
    close: Callable[[int, str], Awaitable[None]]
    auth_context: Any = None
    max_outbox: int = MAX_OUTBOX
    id: int = field(default_factory=lambda: next(_ids))
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    # How many of its subscriptions are in each room: leaving or closing finds at once whether
    # another subscription keeps the connection in the room (a scan per subscription made a
    # close of 10,000 subscriptions stall the server for seconds).
    room_refs: dict[Room, int] = field(default_factory=dict)
    # Frames waiting for the pump, oldest first; None while nothing waits. With ``pumping`` (the
    # task sending them, None when idle) made on the first frame that cannot be written at once:
    # an asyncio.Queue and a task per connection were a third of an idle subscriber's memory.
    outbox: deque[str] | None = None
    pumping: asyncio.Task[None] | None = None
    delivered: int = 0
    dropped: str | None = None  # why the server gave up on this client
    # The task serving the socket (set by it): cancelled once when the connection should end,
    # dropped as too slow or a send failed, so it closes the socket; ``woke`` says it was us.
    serving: asyncio.Task[Any] | None = None
    woke: bool = False
    # The transport's frame writer when the server offers one (frames.py), and whether the pump
    # is sending: a frame may be written directly only when nothing is ahead of it.
    write_frame: Callable[[bytes], bool] | None = None
    sending: bool = False
    event_budget: TokenBucket | None = None  # client events (session.py); made by the first one
    # The transport while the protocol allows direct writes (frames.py ``set_wire``), and
    # ``direct``: the same while, besides, nothing of ours is queued, being sent or dropped. The
    # hub's fan-out loop reads only ``direct``: no call and no check per connection beyond it. The
    # transport itself, not its bound ``write``: one object less to reach per subscriber.
    wire: Wire | None = None
    direct: Wire | None = None

    @property
    def overflowed(self) -> bool:
        return self.dropped is not None

    @property
    def queued(self) -> int:
        return len(self.outbox) if self.outbox is not None else 0

    def set_wire(self, wire: Wire | None) -> None:
        """The protocol's word on direct writes (frames.py): the transport while they are allowed."""
        self.wire = wire
        self.direct = wire if self.outbox is None and not self.sending and self.dropped is None else None

    def push(self, text: str, frame: bytes | None = None) -> None:
        """Queue ``text``, or write ``frame`` (its encoded bytes) at once when nothing is queued or
        being sent and the transport takes it: a third of the CPU per connection (frames.py)."""
        if self.dropped is not None:
            return
        if frame is not None:
            direct = self.direct
            if direct is not None:
                direct.write(frame)
                self.delivered += 1
                return
            outbox = self.outbox
            if self.write_frame is not None and not self.sending and not outbox and self.write_frame(frame):
                self.delivered += 1
                return
        outbox = self.outbox
        if outbox is None:
            outbox = self.outbox = deque()
            self.direct = None  # frames wait: every later one queues behind them until the pump ends
        elif len(outbox) >= self.max_outbox:
            self.drop(f"client too slow: {self.max_outbox} frames waiting; reconnect and resync")
            return
        outbox.append(text)
        if self.pumping is None:
            self.pumping = asyncio.get_running_loop().create_task(self._pump())

    def drop(self, reason: str) -> None:
        """Stop queueing for this client; its serving task is told (``serving``) and closes it."""
        if self.dropped is None:
            self.dropped = reason
            self.direct = None
            self._gone()

    def _gone(self) -> None:
        # Never from inside the serving task itself (a drop while it handles this client's own
        # frame): a cancel would land at its next wait, possibly in its teardown; it sees
        # ``dropped`` once that frame is handled instead.
        task, self.serving = self.serving, None
        if task is not None and task is not asyncio.current_task():
            self.woke = True
            task.cancel()

    async def _pump(self) -> None:
        """Send the queued frames in order, then end (the next frame that must wait starts another)."""
        outbox = self.outbox
        try:
            while outbox:
                text = outbox.popleft()
                self.sending = True
                try:
                    await self.send_text(text)
                finally:
                    self.sending = False
                self.delivered += 1
        except Exception:
            self._gone()  # the socket is gone or broken: its serve loop ends and cleans up
        finally:
            if self.outbox is outbox and not outbox:
                self.outbox = None
                if self.dropped is None:
                    self.direct = self.wire  # nothing ahead any more: direct writes again
            self.pumping = None

    async def stop(self) -> None:
        """No more frames for this connection: stop its pump, if one runs (its queue is dropped)."""
        pumping, self.pumping = self.pumping, None
        self.direct = None
        if self.dropped is None:
            self.dropped = CLOSED
        if pumping is not None and pumping is not asyncio.current_task():
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pumping


class Hub:
    def __init__(self, max_outbox: int = MAX_OUTBOX, events: EventLog | None = None) -> None:
        self.rooms: dict[Room, set[Connection]] = defaultdict(set)
        self.connections: set[Connection] = set()
        self.frames_pushed: dict[str, int] = defaultdict(int)
        self.max_outbox = max_outbox
        self.events = events or EventLog(started_at=int(time.time() * 1000))
        self.dropped = 0  # connections given up on as too slow
        self.stats = StreamStats()  # live analytics (analytics.py): a few increments per change

    def attach(self, connection: Connection) -> None:
        self.connections.add(connection)

    async def detach(self, connection: Connection) -> None:
        """Forget a closed connection. Its rooms are left a slice per turn of the event loop, so
        a connection with thousands of subscriptions never holds up other clients' requests; it
        takes no frames meanwhile (``push`` returns at once once it is marked)."""
        self.connections.discard(connection)
        connection.direct = None
        if connection.dropped is None:
            connection.dropped = CLOSED
        rooms, connection.room_refs, connection.subscriptions = connection.room_refs, {}, {}
        for n, room in enumerate(rooms, 1):
            self._leave_room(connection, room)
            if n % DETACH_SLICE == 0:
                await asyncio.sleep(0)

    def subscribe(self, connection: Connection, sub: Subscription) -> None:
        previous = connection.subscriptions.get(sub.subscription_id)
        if previous is not None:
            self._unref(connection, previous.room)
        connection.subscriptions[sub.subscription_id] = sub
        refs = connection.room_refs.get(sub.room, 0)
        connection.room_refs[sub.room] = refs + 1
        if refs == 0:
            self.rooms[sub.room].add(connection)

    def unsubscribe(self, connection: Connection, subscription_id: str) -> bool:
        sub = connection.subscriptions.pop(subscription_id, None)
        if sub is None:
            return False
        self._unref(connection, sub.room)
        return True

    def _unref(self, connection: Connection, room: Room) -> None:
        refs = connection.room_refs[room] - 1
        if refs:
            connection.room_refs[room] = refs
            return
        del connection.room_refs[room]
        self._leave_room(connection, room)

    def _leave_room(self, connection: Connection, room: Room) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.discard(connection)
            if not members:
                del self.rooms[room]

    def on_change(self, change: StreamChange) -> None:
        if change.type == "event":
            self.events.record(change)
        targets: set[Connection] = set()
        rooms = rooms_for(change)
        for room in rooms:
            members = self.rooms.get(room)
            if members:
                targets |= members
        if not targets:
            return
        text = encode(change_frame(change))
        frame = text_frame(text)  # once per change, whoever takes it
        for connection in targets:
            # The bare broadcast's loop for a connection that can take the frame now; the checks
            # and the outbox only for one that cannot (hub.Connection.direct, frames.py).
            wire = connection.direct
            if wire is not None:
                wire.write(frame)
                connection.delivered += 1
            else:
                connection.push(text, frame)
        self.frames_pushed[change.stream_name] += len(targets)
        self.stats.delivered(rooms[0], len(targets), change.timestamp)  # rooms[0]: the group's room

    def subscriber_count(self, stream: str) -> int:
        return sum(len(members) for (name, _, _), members in self.rooms.items() if name == stream)

"""Subscriptions and fan-out for the local host's WebSocket clients.

The hub listens to the stream stores' change notifications, encodes each change once and queues
it to every connection subscribed to the item's room or its group's room (one copy per
connection: Motia's clients route a frame to both their item and group listeners themselves).

Each connection has its own bounded outbox drained by its own task, so a slow client never
delays the others; one that falls too far behind is disconnected and resyncs when it rejoins.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ...ports.streams import StreamChange
from ...protocol import Room, Subscription, change_frame, encode, rooms_for

MAX_OUTBOX = 10_000
_ids = itertools.count(1)


@dataclass(eq=False)
class Connection:
    send_text: Callable[[str], Awaitable[None]]
    close: Callable[[int, str], Awaitable[None]]
    auth_context: Any = None
    id: int = field(default_factory=lambda: next(_ids))
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    delivered: int = 0
    overflowed: bool = False

    def push(self, text: str) -> None:
        if self.overflowed:
            return
        if self.outbox.qsize() >= MAX_OUTBOX:
            # Dropping frames silently would leave the client with a wrong state; closing makes
            # it reconnect, rejoin and get a fresh sync.
            self.overflowed = True
            self.outbox.put_nowait(None)
            return
        self.outbox.put_nowait(text)

    async def pump(self) -> None:
        while True:
            text = await self.outbox.get()
            if text is None:
                await self.close(1013, "client too slow: reconnect and resync")
                return
            await self.send_text(text)
            self.delivered += 1


class Hub:
    def __init__(self) -> None:
        self.rooms: dict[Room, set[Connection]] = defaultdict(set)
        self.connections: set[Connection] = set()
        self.frames_pushed: dict[str, int] = defaultdict(int)

    def attach(self, connection: Connection) -> None:
        self.connections.add(connection)

    def detach(self, connection: Connection) -> None:
        for sub in connection.subscriptions.values():
            self._unroom(connection, sub)
        connection.subscriptions.clear()
        self.connections.discard(connection)

    def subscribe(self, connection: Connection, sub: Subscription) -> None:
        previous = connection.subscriptions.get(sub.subscription_id)
        if previous is not None:
            self._unroom(connection, previous)
        connection.subscriptions[sub.subscription_id] = sub
        self.rooms[sub.room].add(connection)

    def unsubscribe(self, connection: Connection, subscription_id: str) -> None:
        sub = connection.subscriptions.pop(subscription_id, None)
        if sub is not None:
            self._unroom(connection, sub)

    def _unroom(self, connection: Connection, sub: Subscription) -> None:
        # Another subscription of the same connection may keep it in the room.
        if any(s.room == sub.room for s in connection.subscriptions.values() if s is not sub):
            return
        members = self.rooms.get(sub.room)
        if members is not None:
            members.discard(connection)
            if not members:
                del self.rooms[sub.room]

    def on_change(self, change: StreamChange) -> None:
        targets: set[Connection] = set()
        for room in rooms_for(change):
            members = self.rooms.get(room)
            if members:
                targets |= members
        if not targets:
            return
        text = encode(change_frame(change))
        for connection in targets:
            connection.push(text)
        self.frames_pushed[change.stream_name] += len(targets)

    def subscriber_count(self, stream: str) -> int:
        return sum(len(members) for (name, _, _), members in self.rooms.items() if name == stream)

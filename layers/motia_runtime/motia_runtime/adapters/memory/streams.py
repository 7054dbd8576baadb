"""Stream items in memory (tests, and a custom stream's ``factory``). Item TTLs as the SQLite store
keeps them: reads skip an item once due, and a sweeper (``astart``, every ``SWEEP_EVERY_S``)
removes it with a ``delete`` change, which also goes to the expiry listeners."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from ...ports.streams import ChangeType, Mutation, StreamChange, StreamStore, now_ms, stored_item
from ...tasks import stop_task

SWEEP_EVERY_S = 0.5  # as the SQLite store's: an expired item's delete goes out within about this long


class MemoryStreamStore(StreamStore):
    """Items in a dict; writes never yield to the event loop, so each is atomic."""

    def __init__(self, clock: Any = None) -> None:
        super().__init__(clock)
        # (stream, group) -> id -> (item, version)
        self._groups: dict[tuple[str, str], dict[str, tuple[dict[str, Any], int]]] = {}
        self._expiry: dict[tuple[str, str, str], int] = {}  # items set with a TTL -> when (epoch ms)
        self._sweeper: asyncio.Task[None] | None = None

    def _expired(self, stream: str, group_id: str, id: str) -> bool:
        at = self._expiry.get((stream, group_id, id))
        return at is not None and at <= now_ms()

    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        entry = self._groups.get((stream, group_id), {}).get(id)
        return copy.deepcopy(entry[0]) if entry and not self._expired(stream, group_id, id) else None

    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        items = [copy.deepcopy(item) for id, (item, _) in self._groups.get((stream, group_id), {}).items()
                 if not self._expired(stream, group_id, id)]
        return sorted(items, key=lambda i: (i["_createdAt"], i["id"]))

    def _write(self, stream: str, group_id: str, id: str, data: dict[str, Any],
               expires_at: int | None = None) -> StreamChange:
        group = self._groups.setdefault((stream, group_id), {})
        ts = self.clock.tick()
        previous = None if self._expired(stream, group_id, id) else group.get(id)
        if expires_at is None:
            self._expiry.pop((stream, group_id, id), None)
        else:
            self._expiry[(stream, group_id, id)] = expires_at
        created_at = previous[0]["_createdAt"] if previous else ts
        version = previous[1] + 1 if previous else 1
        item = stored_item(copy.deepcopy(data), id, created_at)
        group[id] = (item, version)
        kind: ChangeType = "update" if previous else "create"
        change = StreamChange(stream, group_id, id, kind, copy.deepcopy(item), ts, version)
        self._notify(change)
        return change

    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        return self._write(stream, group_id, id, data)

    async def set_expiring(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                           expires_at: int) -> StreamChange:
        return self._write(stream, group_id, id, data, expires_at)

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        current = await self.get(stream, group_id, id)
        # The item's expiry is kept only while it lives: past it, the write makes a new item.
        expires_at = None if current is None else self._expiry.get((stream, group_id, id))
        return self._write(stream, group_id, id, fn(current), expires_at)

    async def mutate_expiring(self, stream: str, group_id: str, id: str, fn: Mutation,
                              expires_at: int | None) -> StreamChange:
        current = await self.get(stream, group_id, id)  # no await between this read and the write
        return self._write(stream, group_id, id, fn(current), expires_at)

    async def expire_due(self) -> int:
        due = [key for key, at in self._expiry.items() if at <= now_ms()]
        changes = [change for key in due if (change := self._remove(*key)) is not None]
        for change in changes:  # after every delete is out: these may yield to the loop
            await self._notify_expired(change)
        return len(changes)

    def _remove(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        group = self._groups.get((stream, group_id))
        if not group or id not in group:
            return None
        item, version = group.pop(id)
        self._expiry.pop((stream, group_id, id), None)
        if not group:
            del self._groups[(stream, group_id)]
        change = StreamChange(stream, group_id, id, "delete", item, self.clock.tick(), version + 1)
        self._notify(change)
        return change

    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        expired = self._expired(stream, group_id, id)
        change = self._remove(stream, group_id, id)
        if change is not None and expired:
            # Due but not swept yet: gone for readers already, so this is the sweeper's delete (and
            # its expiry's triggers), not the caller's, as the SQLite store has it.
            await self._notify_expired(change)
            return None
        return change

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            await self.expire_due()

    async def astart(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="motia-stream-ttl")

    async def aclose(self) -> None:
        await stop_task(self._sweeper)
        self._sweeper = None

    async def list_groups(self, stream: str) -> list[str]:
        return sorted(g for (s, g), items in self._groups.items()
                      if s == stream and any(not self._expired(s, g, id) for id in items))

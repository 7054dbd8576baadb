from __future__ import annotations

import itertools

from ...ports.queue import MessageStatus, NewMessage, QueuedMessage, QueueStore


class MemoryQueueStore(QueueStore):
    def __init__(self) -> None:
        self._messages: dict[int, QueuedMessage] = {}
        self._ids = itertools.count(1)

    def enqueue(self, messages: list[NewMessage], now: int) -> None:
        for m in messages:
            mid = next(self._ids)
            self._messages[mid] = QueuedMessage(
                mid, m.step, m.topic, m.data, m.trace_id, m.message_group_id, 0, m.visible_at, "ready", now,
                event_id=m.event_id,
            )

    def claim(self, step: str, now: int, limit: int, fifo: bool) -> list[QueuedMessage]:
        mine = sorted((m for m in self._messages.values() if m.step == step and m.status != "dead"), key=lambda m: m.id)
        picked: list[QueuedMessage] = []
        if fifo:
            seen_groups: set[str | None] = set()
            for m in mine:
                if m.message_group_id in seen_groups:
                    continue
                seen_groups.add(m.message_group_id)
                if m.status == "ready" and m.visible_at <= now:
                    picked.append(m)
        else:
            picked = [m for m in mine if m.status == "ready" and m.visible_at <= now]
        picked = picked[:limit]
        for m in picked:
            m.status = "inflight"
            m.attempts += 1
        return [QueuedMessage(**{s: getattr(m, s) for s in QueuedMessage.__slots__}) for m in picked]

    def ack(self, message_id: int) -> None:
        self._messages.pop(message_id, None)

    def retry_later(self, message_id: int, error: str, visible_at: int) -> None:
        m = self._messages[message_id]
        m.status, m.last_error, m.visible_at = "ready", error, visible_at

    def dead_letter(self, message_id: int, error: str) -> None:
        m = self._messages[message_id]
        m.status, m.last_error = "dead", error

    def recover_inflight(self) -> int:
        count = 0
        for m in self._messages.values():
            if m.status == "inflight":
                m.status = "ready"
                count += 1
        return count

    def next_visible_at(self, step: str, fifo: bool = False) -> int | None:
        mine = [m for m in self._messages.values() if m.step == step and m.status != "dead"]
        if fifo:  # the heads of message groups only, as ``claim`` picks them
            heads: dict[str | None, QueuedMessage] = {}
            for m in sorted(mine, key=lambda m: m.id):
                heads.setdefault(m.message_group_id, m)
            mine = list(heads.values())
        times = [m.visible_at for m in mine if m.status == "ready"]
        return min(times) if times else None

    def list(
        self, status: MessageStatus | None = None, step: str | None = None, limit: int = 200,
        after: int | None = None,
    ) -> list[QueuedMessage]:
        out = [m for m in self._messages.values()
               if (status is None or m.status == status) and (step is None or m.step == step)
               and (after is None or m.id > after)]
        return sorted(out, key=lambda m: m.id)[:limit]

    def redrive(self, message_id: int, now: int) -> bool:
        m = self._messages.get(message_id)
        if m is None or m.status != "dead":
            return False
        del self._messages[message_id]  # to the tail, under a new id (see QueueStore.redrive)
        m.id, m.status, m.attempts, m.visible_at = next(self._ids), "ready", 0, now
        self._messages[m.id] = m
        return True

    def drop(self, message_id: int) -> bool:
        m = self._messages.get(message_id)
        if m is None or m.status != "dead":
            return False
        del self._messages[message_id]
        return True

"""The local host's replay log: recent ``send()`` events per stream group, kept in memory.

A client that rejoins with ``since`` (the last frame timestamp it saw) gets the custom events
stamped after it, as long as the log still holds all of them: events live ``window_s`` seconds
(``MOTIA_STREAM_REPLAY_S``, default 300, the same window as the event records on AWS) and at
most ``max_per_group`` per group. The log is complete for a group from the later of: the
server's start (it is not persisted: a restart is a gap), the newest event evicted by the
count bound, and ``now - window``. A ``since`` before that gets None, which the socket turns
into an explicit ``resync`` event.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ...ports.streams import StreamChange
from ...protocol import Subscription, replay_window_s, replays_to

DEFAULT_MAX_PER_GROUP = 1000
_SWEEP_EVERY = 1000  # records between sweeps of groups nobody writes to any more


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Group:
    events: deque[StreamChange] = field(default_factory=deque)
    evicted_to: int = 0  # the stamp of the newest event dropped by the count bound


class EventLog:
    def __init__(self, started_at: int, window_s: int | None = None,
                 max_per_group: int = DEFAULT_MAX_PER_GROUP) -> None:
        self.started_at = started_at  # the clock's stamp when this process started listening
        self.window_ms = (replay_window_s() if window_s is None else window_s) * 1000
        self.max_per_group = max_per_group
        self._groups: dict[tuple[str, str], _Group] = {}
        self._records = 0

    def record(self, change: StreamChange) -> None:
        if change.type != "event" or self.window_ms == 0:
            return
        key = (change.stream_name, change.group_id)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group()
        group.events.append(change)
        if len(group.events) > self.max_per_group:
            group.evicted_to = group.events.popleft().timestamp
        self._records += 1
        if self._records % _SWEEP_EVERY == 0:
            self._sweep()

    def _expire(self, group: _Group, now: int) -> None:
        while group.events and group.events[0].timestamp < now - self.window_ms:
            group.events.popleft()

    def _sweep(self) -> None:
        now = _now_ms()
        for key in list(self._groups):
            group = self._groups[key]
            self._expire(group, now)
            # An emptied group's eviction mark is older than the window too, so nothing is lost.
            if not group.events:
                del self._groups[key]

    def replay(self, sub: Subscription, since: int, upto: int) -> list[StreamChange] | None:
        """Events for ``sub`` stamped in (since, upto], oldest first; None when some may be missing."""
        now = _now_ms()
        group = self._groups.get((sub.stream_name, sub.group_id))
        if group is not None:
            self._expire(group, now)
        complete_from = max(self.started_at, now - self.window_ms, group.evicted_to if group else 0)
        if since < complete_from:
            return None
        if group is None:
            return []
        return [c for c in group.events if since < c.timestamp <= upto and replays_to(c, sub)]

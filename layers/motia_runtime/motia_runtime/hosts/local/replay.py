"""The local host's replay log: recent ``send()`` events per stream group, kept in memory.

A client that rejoins with ``since`` (the last frame timestamp it saw) gets the custom events
stamped after it, as long as the log still holds all of them: events live ``window_s`` seconds
(``MOTIA_STREAM_REPLAY_S``, default 300, the same window as the event records on AWS), at
most ``max_per_group`` per group (1,000), and at most ``max_events`` in all
(``MOTIA_STREAM_REPLAY_EVENTS``, default 20,000: with events of up to 127 KB the window alone
would not bound memory when many groups are busy; past it the oldest events of all go). The log
is complete for a group from the later of: the server's start (it is not persisted), the newest
event of the group evicted by a count bound, and ``now - window``. A ``since`` before that gets
None, and the socket asks the store's durable history instead (``StreamStore.history``: SQLite,
Redis), which answers across restarts or says None too; then the client gets a ``resync`` event.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ...limits import DEFAULTS
from ...ports.streams import StreamChange
from ...protocol import Subscription, replays_to

DEFAULT_MAX_PER_GROUP = 1000
DEFAULT_MAX_EVENTS = DEFAULTS.replay_events
_SWEEP_EVERY = 1000  # records between sweeps of groups nobody writes to any more


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Group:
    events: deque[StreamChange] = field(default_factory=deque)
    evicted_to: int = 0  # the stamp of the newest event dropped by the count bound


class EventLog:
    def __init__(self, started_at: int, window_s: int | None = None,
                 max_per_group: int = DEFAULT_MAX_PER_GROUP, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.started_at = started_at  # the clock's stamp when this process started listening
        self.window_ms = (DEFAULTS.stream_replay_s if window_s is None else window_s) * 1000
        self.max_per_group = max_per_group
        self.max_events = max_events
        self._groups: dict[tuple[str, str], _Group] = {}
        # Every recorded event in record order, for the total bound. Entries whose event a group
        # already dropped (window, per-group bound) are skipped when met, and compacted away.
        self._order: deque[tuple[tuple[str, str], StreamChange]] = deque()
        self._held = 0  # events held by the groups
        self._records = 0
        self._lost_track = False

    def lost_track(self) -> None:
        """The store's change feed was cut and is back (Redis): events sent meanwhile never came
        here. Until the first event heard after that, the log answers for no ``since`` (the
        store's history does); from then on for any ``since`` at or after that event's stamp
        minus one, as stamps only grow in the order the feed delivers them."""
        self._lost_track = True

    def record(self, change: StreamChange) -> None:
        if change.type != "event" or self.window_ms == 0:
            return
        if self._lost_track:
            self._lost_track = False
            self.started_at = max(self.started_at, change.timestamp - 1)
        key = (change.stream_name, change.group_id)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group()
        group.events.append(change)
        self._order.append((key, change))
        self._held += 1
        if len(group.events) > self.max_per_group:
            group.evicted_to = group.events.popleft().timestamp
            self._held -= 1
        while self._held > self.max_events:
            self._evict_oldest()
        if len(self._order) > 2 * self.max_events:
            held = {id(c) for g in self._groups.values() for c in g.events}
            self._order = deque((k, c) for k, c in self._order if id(c) in held)
        self._records += 1
        if self._records % _SWEEP_EVERY == 0:
            self._sweep()

    def _evict_oldest(self) -> None:
        while self._order:
            key, change = self._order.popleft()
            group = self._groups.get(key)
            if group is not None and group.events and group.events[0] is change:
                group.evicted_to = group.events.popleft().timestamp
                self._held -= 1
                return

    def _expire(self, group: _Group, now: int) -> None:
        while group.events and group.events[0].timestamp < now - self.window_ms:
            group.events.popleft()
            self._held -= 1

    def _sweep(self) -> None:
        now = _now_ms()
        for key in list(self._groups):
            group = self._groups[key]
            self._expire(group, now)
            # An emptied group goes once its eviction mark is older than the window too: until then
            # the mark still says that a `since` before it has missed events.
            if not group.events and group.evicted_to < now - self.window_ms:
                del self._groups[key]

    def replay(self, sub: Subscription, since: int, upto: int) -> list[StreamChange] | None:
        """Events for ``sub`` stamped in (since, upto], oldest first; None when some may be missing."""
        if self._lost_track:
            return None
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

"""The local replay log: complete within its window, and it says so when it is not."""

from __future__ import annotations

import time

from motia_runtime.hosts.local.replay import EventLog
from motia_runtime.ports.streams import StreamChange
from motia_runtime.protocol import Subscription


def now_ms() -> int:
    return int(time.time() * 1000)


def event(ts: int, group: str = "g", id: str | None = None) -> StreamChange:
    return StreamChange("s", group, id, "event", {"type": "t", "data": ts}, ts, event_id=f"e{ts}")


def test_events_after_since_are_replayed_per_room() -> None:
    start = now_ms()
    log = EventLog(started_at=start, window_s=60)
    for i, id in enumerate([None, "a", "b", "a"], start=1):
        log.record(event(start + i, id=id))
    log.record(event(start + 5, group="other"))
    log.record(StreamChange("s", "g", "a", "update", {}, start + 6, 2))  # not an event: not logged
    group, item = Subscription("s", "g", None, "x"), Subscription("s", "g", "a", "y")
    assert [c.timestamp - start for c in log.replay(group, start + 1, start + 10) or []] == [2, 3, 4]
    assert [c.timestamp - start for c in log.replay(item, start, start + 10) or []] == [2, 4]
    assert [c.timestamp - start for c in log.replay(group, start, start + 3) or []] == [1, 2, 3]  # up to the sync


def test_before_the_start_past_the_window_or_past_the_bound_is_a_gap() -> None:
    start = now_ms()
    group = Subscription("s", "g", None, "x")
    log = EventLog(started_at=start, window_s=60, max_per_group=3)
    assert log.replay(group, start - 1, start + 10) is None  # before this process: unknown
    assert log.replay(group, start, start + 10) == []
    for i in range(1, 6):
        log.record(event(start + i))
    assert log.replay(group, start + 1, start + 10) is None  # events 1 and 2 were evicted
    assert [c.timestamp - start for c in log.replay(group, start + 2, start + 10) or []] == [3, 4, 5]
    old = EventLog(started_at=0, window_s=1)
    assert old.replay(group, now_ms() - 5_000, now_ms()) is None  # outside the window
    off = EventLog(started_at=0, window_s=0)
    off.record(event(now_ms()))
    assert off.replay(group, now_ms() - 1, now_ms()) is None  # replay turned off: always a resync

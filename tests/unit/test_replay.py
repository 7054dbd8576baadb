"""The local replay log: complete within its window, and it says so when it is not."""

from __future__ import annotations

import time

from motia_runtime.hosts.local.replay import EventLog
from motia_runtime.limits import Limits
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


def test_the_total_bound_drops_the_oldest_events_of_all_groups_and_says_so() -> None:
    start = now_ms()
    log = EventLog(started_at=start, window_s=60, max_per_group=100, max_events=5)
    for i in range(1, 9):  # groups a, b, c in turn: 8 events, 5 kept
        log.record(event(start + i, group="abc"[i % 3]))
    held = {g: [c.timestamp - start for c in log.replay(Subscription("s", g, None, "x"), start + 8, start + 100)
                or []] for g in "abc"}
    assert held == {"a": [], "b": [], "c": []}  # nothing after 8
    kept = sorted(c.timestamp - start for g in "abc"
                  for c in log.replay(Subscription("s", g, None, "x"), start + 3, start + 100) or [])
    assert kept == [4, 5, 6, 7, 8]
    # Each group whose events went reports a gap before its newest evicted event, not silence.
    for g, evicted in (("a", 3), ("b", 1), ("c", 2)):
        assert log.replay(Subscription("s", g, None, "x"), start + evicted - 1, start + 100) is None
    assert len(log._order) <= 2 * log.max_events and log._held == 5
    for i in range(9, 200):  # a long run stays bounded, the record-order list too
        log.record(event(start + i, group=f"g{i % 17}"))
    assert log._held == 5 and len(log._order) <= 10


def test_the_total_bound_is_a_setting() -> None:
    assert EventLog(started_at=0).max_events == Limits().replay_events == 20_000
    limits = Limits.from_env({"MOTIA_STREAM_REPLAY_EVENTS": "7"})  # read once, into the host's settings
    assert EventLog(started_at=0, max_events=limits.replay_events).max_events == 7


def test_after_the_change_feed_was_cut_the_log_answers_only_from_the_first_event_heard_again() -> None:
    # With Redis, events sent while this worker's feed was down never reached the log: it must not
    # answer [] for them (the rejoin then reads the store's history, or resyncs).
    start = now_ms()
    group = Subscription("s", "g", None, "x")
    log = EventLog(started_at=start, window_s=60)
    log.record(event(start + 1))
    assert [c.timestamp for c in log.replay(group, start, start + 50) or []] == [start + 1]
    log.lost_track()
    assert log.replay(group, start + 1, start + 50) is None  # the gap may hold events
    log.record(event(start + 20))  # the first event heard after the feed came back
    assert log.replay(group, start + 1, start + 50) is None  # 2..19 may have been missed
    assert [c.timestamp for c in log.replay(group, start + 19, start + 50) or []] == [start + 20]
    log.record(event(start + 21))
    assert [c.timestamp for c in log.replay(group, start + 20, start + 50) or []] == [start + 21]

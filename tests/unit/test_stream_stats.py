"""The analytics counters' arithmetic: fixed-bucket lag histograms, the sliding window, and
merging several workers' windows (percentiles read from the added buckets, not averaged)."""

from __future__ import annotations

from motia_runtime.stream_stats import BOUNDS_MS, MAX_GROUPS, StreamStats, Window, lag_bucket, merge, percentile, report


def test_buckets_are_increasing_and_a_percentile_is_its_buckets_upper_bound() -> None:
    assert list(BOUNDS_MS) == sorted(set(BOUNDS_MS)) and BOUNDS_MS[0] == 0 and BOUNDS_MS[-1] >= 60_000
    assert lag_bucket(-5) == 0 and lag_bucket(0) == 0 and BOUNDS_MS[lag_bucket(1)] == 1
    assert BOUNDS_MS[lag_bucket(100)] >= 100 > BOUNDS_MS[lag_bucket(100) - 1]
    counts = [0] * (len(BOUNDS_MS) + 1)
    counts[lag_bucket(1)] = 98
    counts[lag_bucket(700)] = 2
    assert percentile(counts, 0.5) == 1
    assert percentile(counts, 0.99) == BOUNDS_MS[lag_bucket(700)]
    assert percentile([0] * 3, 0.5) is None


def test_the_window_keeps_the_last_seconds_only() -> None:
    stats = StreamStats()
    window = Window(stats, seconds=3)
    room = ("s", "g", None)
    stats.delivered(room, 4, 0)  # a stamp long ago: lag in the last bucket
    window.tick(now=100.0)
    stats.delivered(room, 6, 10**13)  # a stamp in the future (a clock ahead): lag 0, never negative
    window.tick(now=101.0)
    snap = window.snapshot()["groups"]["s\ng"]
    assert (snap["frames"], snap["changes"], snap["framesTotal"]) == (10, 2, 10)
    window.tick(now=103.5)  # the first tick is now out of the window
    snap = window.snapshot()["groups"]["s\ng"]
    assert (snap["frames"], snap["framesTotal"]) == (6, 10) and snap["lag"] == {"0": 1}


def test_merging_workers_adds_counts_and_histograms() -> None:
    snapshots = []
    for frames in (3, 5):
        stats = StreamStats()
        window = Window(stats)
        stats.delivered(("s", "g", None), frames, 0)
        stats.refused("s", "g")
        stats.refused_connections += 1
        window.tick(now=1.0)
        snapshots.append(window.snapshot())
    merged = merge(snapshots)
    assert merged["workers"] == 2 and merged["refusedConnections"] == 2
    g = merged["groups"]["s\ng"]
    assert (g["frames"], g["refusedTotal"], sum(g["lag"].values())) == (8, 2, 2)
    answer = report(merged, {("s", "g"): (2, 3)}, {"s": 2}, ["s", "t"])
    s, t = answer["streams"]
    assert (s["clients"], s["subscriptions"], s["framesTotal"], s["refusedJoinsTotal"]) == (2, 3, 8, 2)
    assert s["groups"][0]["lagP99Ms"] == BOUNDS_MS[-1] * 2  # "more than a minute"
    assert t["groups"] == [] and t["lagP50Ms"] is None


def test_idle_groups_past_the_cap_fold_into_their_streams_totals() -> None:
    stats = StreamStats()
    window = Window(stats, seconds=2)
    for n in range(MAX_GROUPS + 10):
        stats.refused("s", f"g{n}")
    window.tick(now=0.0)
    window.tick(now=5.0, keep=[("s", "g1", "item")])  # active a while ago; g1 still has a subscriber (to an item)
    assert list(stats.groups) == [("s", "g1", None)]
    answer = report(merge([window.snapshot()]), {}, {}, ["s"])
    assert answer["streams"][0]["refusedJoinsTotal"] == MAX_GROUPS + 10


def test_a_busy_groups_lag_is_sampled_and_its_counts_are_not() -> None:
    stats = StreamStats()
    room = ("s", "g", None)
    for _ in range(200):
        stats.delivered(room, 3, 0)
    c = stats.groups[room]
    assert (c.frames, c.changes) == (600, 200)
    assert sum(c.lag) == 64 + len(range(72, 201, 8))  # every one of the first 64, then one in 8

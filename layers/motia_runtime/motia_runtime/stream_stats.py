"""Live stream analytics: what a host counts on its push path, and how counts are summarised.

Per stream and per group a host keeps frames pushed, changes delivered, refused joins and a
histogram of delivery lag (from the change's stamp, taken by ``set()``/``send()`` in whatever
process wrote it, to the change's frames being handed to this process's connections). The hot
path is a dictionary lookup on a tuple the hub already built and two integer increments per
change; the lag (a clock read and a bucket index) is taken for every change of a group's first 64,
then for one in 8: no lock (everything runs on the event loop's thread), no allocation per frame.

Fixed buckets are what make the histograms mergeable: the counts of several workers (or of
several seconds) add up bucket by bucket, so p50/p99 across workers are read from the sum and
not averaged (an average of percentiles is not a percentile). A percentile is reported as its
bucket's upper bound, so it errs high by at most the bucket's width (~25 %).

:class:`Window` turns the cumulative counters into the last ``seconds`` of activity, sampled once
a second off the hot path; :func:`merge` adds several processes' windows; :func:`report` is what
the Workbench's ``/__motia/streams/analytics`` answers.
"""

from __future__ import annotations

import bisect
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

# Upper bounds in ms: 0, 1, 2 ... then ~25 % apart up to a minute; the last bucket is "more".
BOUNDS_MS: tuple[int, ...] = tuple(sorted({0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15}
                                          | {round(15 * 1.25 ** n) for n in range(1, 39)}))
BUCKETS = len(BOUNDS_MS) + 1
# The bucket of each lag up to 15 ms (most of them, on one machine) by indexing, not searching.
_SMALL = tuple(bisect.bisect_left(BOUNDS_MS, lag) for lag in range(16))
_now = time.time
LAG_EVERY_CHANGE_UNTIL = 64
LAG_SAMPLE = 8
# A group's counters are kept while it is active or has subscribers; past this many groups the
# idle ones are folded into their stream's totals (groups are user data: one per pet, per user).
MAX_GROUPS = 2000


class GroupCounters:
    """Cumulative counts of one group; only ever incremented on the event loop's thread."""

    __slots__ = ("changes", "frames", "lag", "refused")

    def __init__(self) -> None:
        self.frames = 0
        self.changes = 0
        self.refused = 0
        self.lag = [0] * BUCKETS


def lag_bucket(lag_ms: int) -> int:
    return bisect.bisect_left(BOUNDS_MS, lag_ms) if lag_ms > 0 else 0


class StreamStats:
    """The counters one process keeps, keyed by a group's room ``(stream, group, None)``."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str, str | None], GroupCounters] = {}
        self.refused_connections = 0  # handshakes refused before any stream was named

    def counters(self, room: tuple[str, str, str | None]) -> GroupCounters:
        found = self.groups.get(room)
        if found is None:
            found = self.groups[room] = GroupCounters()
        return found

    def delivered(self, room: tuple[str, str, str | None], frames: int, stamp_ms: int) -> None:
        """One change's frames handed to ``frames`` connections (the hub calls it once per change)."""
        counters = self.groups.get(room)
        if counters is None:
            counters = self.groups[room] = GroupCounters()
        counters.frames += frames
        changes = counters.changes = counters.changes + 1
        # Reading the clock is most of the cost here (~0.2-0.4 µs on a VM): a busy group's lag is
        # sampled, every change of its first LAG_EVERY_CHANGE_UNTIL, then one in LAG_SAMPLE.
        if changes > LAG_EVERY_CHANGE_UNTIL and changes % LAG_SAMPLE:
            return
        lag = int(_now() * 1000) - stamp_ms
        counters.lag[_SMALL[lag] if 0 <= lag < 16 else (0 if lag < 0 else bisect_left(BOUNDS_MS, lag))] += 1

    def refused(self, stream: str, group: str) -> None:
        self.counters((stream, group, None)).refused += 1


def percentile(buckets: Mapping[int, int] | list[int], q: float) -> int | None:
    """The upper bound (ms) of the bucket holding the ``q`` quantile; None without samples."""
    items = sorted(buckets.items()) if isinstance(buckets, Mapping) else list(enumerate(buckets))
    total = sum(n for _, n in items)
    if total == 0:
        return None
    rank, seen = q * total, 0
    for index, n in items:
        seen += n
        if n and seen >= rank:
            return BOUNDS_MS[index] if index < len(BOUNDS_MS) else BOUNDS_MS[-1] * 2
    return BOUNDS_MS[-1] * 2


class Window:
    """The last ``seconds`` of one process's counters, sampled by :meth:`tick` once a second.

    Each tick stores what changed since the previous one, sparsely (idle groups cost nothing);
    :meth:`snapshot` sums the stored ticks into a mergeable dict (see :func:`merge`)."""

    def __init__(self, stats: StreamStats, seconds: int = 10) -> None:
        self.stats = stats
        self.seconds = seconds
        self.previous: dict[tuple[str, str, str | None], tuple[int, int, int, list[int]]] = {}
        self.ticks: deque[tuple[float, dict[tuple[str, str], tuple[int, int, int, dict[int, int]]]]] = deque()
        self.totals: dict[str, list[int]] = {}  # per stream: frames, changes, refused of forgotten groups

    def tick(self, now: float | None = None, keep: Iterable[tuple[str, str, str | None]] = ()) -> None:
        """Sample; ``keep``: rooms (a group's or an item's) with subscribers, whose group's
        counters stay even when idle."""
        now = time.monotonic() if now is None else now
        deltas: dict[tuple[str, str], tuple[int, int, int, dict[int, int]]] = {}
        for room, c in self.stats.groups.items():
            before = self.previous.get(room)
            if before is not None and before[0] == c.frames and before[2] == c.refused:
                continue
            bf, bc, br, blag = before if before is not None else (0, 0, 0, [0] * BUCKETS)
            lag = {i: n - blag[i] for i, n in enumerate(c.lag) if n != blag[i]}
            deltas[(room[0], room[1])] = (c.frames - bf, c.changes - bc, c.refused - br, lag)
            self.previous[room] = (c.frames, c.changes, c.refused, list(c.lag))
        self.ticks.append((now, deltas))
        while self.ticks and self.ticks[0][0] <= now - self.seconds:
            self.ticks.popleft()
        if len(self.stats.groups) > MAX_GROUPS:
            # A subscriber to one item keeps its group too.
            self._forget_idle({(room[0], room[1], None) for room in keep})

    def _forget_idle(self, keep: set[tuple[str, str, str | None]]) -> None:
        active = {group for _, deltas in self.ticks for group in deltas}
        for room in [r for r in self.stats.groups if r not in keep and (r[0], r[1]) not in active]:
            c = self.stats.groups.pop(room)
            self.previous.pop(room, None)
            total = self.totals.setdefault(room[0], [0, 0, 0])
            total[0] += c.frames
            total[1] += c.changes
            total[2] += c.refused

    def snapshot(self) -> dict[str, Any]:
        """This process's window: per group its counts in the window and its totals."""
        span = (self.ticks[-1][0] - self.ticks[0][0] + 1.0) if self.ticks else 1.0
        groups: dict[str, dict[str, Any]] = {}
        for room, c in self.stats.groups.items():
            groups[_key(room[0], room[1])] = {"frames": 0, "changes": 0, "refused": 0, "lag": {},
                                               "framesTotal": c.frames, "refusedTotal": c.refused}
        for _, deltas in self.ticks:
            for (stream, group), (frames, changes, refused, lag) in deltas.items():
                entry = groups.get(_key(stream, group))
                if entry is None:
                    continue
                entry["frames"] += frames
                entry["changes"] += changes
                entry["refused"] += refused
                for index, n in lag.items():
                    entry["lag"][str(index)] = entry["lag"].get(str(index), 0) + n
        return {"seconds": min(span, float(self.seconds)), "groups": groups,
                "forgotten": {s: {"framesTotal": t[0], "refusedTotal": t[2]} for s, t in self.totals.items()},
                "refusedConnections": self.stats.refused_connections}


def _key(stream: str, group: str) -> str:
    # JSON keys; a stream name cannot hold "\n" (config names are identifiers), a group id may.
    return f"{stream}\n{group}"


def merge(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several processes' snapshots as one (counts and histograms added; the longest window)."""
    out: dict[str, Any] = {"seconds": 1.0, "groups": {}, "forgotten": {}, "refusedConnections": 0, "workers": 0}
    for snap in snapshots:
        out["workers"] += 1
        out["seconds"] = max(out["seconds"], float(snap.get("seconds", 1.0)))
        out["refusedConnections"] += int(snap.get("refusedConnections", 0))
        for name, forgotten in snap.get("forgotten", {}).items():
            into = out["forgotten"].setdefault(name, {"framesTotal": 0, "refusedTotal": 0})
            into["framesTotal"] += forgotten["framesTotal"]
            into["refusedTotal"] += forgotten["refusedTotal"]
        for key, entry in snap.get("groups", {}).items():
            into = out["groups"].setdefault(key, {"frames": 0, "changes": 0, "refused": 0, "lag": {},
                                                  "framesTotal": 0, "refusedTotal": 0})
            for field in ("frames", "changes", "refused", "framesTotal", "refusedTotal"):
                into[field] += entry.get(field, 0)
            for index, n in entry.get("lag", {}).items():
                into["lag"][index] = into["lag"].get(index, 0) + n
    return out


def report(merged: Mapping[str, Any], presence: Mapping[tuple[str, str], tuple[int, int]],
           stream_clients: Mapping[str, int], streams: Iterable[str], max_groups: int = 50) -> dict[str, Any]:
    """The analytics answer: per stream, and per group (the busiest ``max_groups`` of each)
    clients, subscriptions, frames/s, lag p50/p99 and refused joins. ``presence``: (clients,
    subscriptions) per (stream, group), and ``stream_clients`` the distinct connections per
    stream (one joined to two groups counts once), both summed over workers by the caller."""
    seconds = float(merged.get("seconds", 1.0)) or 1.0
    per_stream: dict[str, dict[str, Any]] = {}
    for name in streams:
        forgotten = merged.get("forgotten", {}).get(name, {})
        per_stream[name] = {"name": name, "clients": stream_clients.get(name, 0), "subscriptions": 0,
                            "framesPerSecond": 0.0,
                            "framesTotal": forgotten.get("framesTotal", 0), "refusedJoins": 0,
                            "refusedJoinsTotal": forgotten.get("refusedTotal", 0), "lagP50Ms": None,
                            "lagP99Ms": None, "deliveries": 0, "groups": [], "_lag": {}}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for key, entry in merged.get("groups", {}).items():
        stream, _, group = key.partition("\n")
        groups[(stream, group)] = entry
    for where in presence:
        groups.setdefault(where, {"frames": 0, "changes": 0, "refused": 0, "lag": {}, "framesTotal": 0,
                                  "refusedTotal": 0})
    for (stream, group), entry in groups.items():
        into = per_stream.get(stream)
        if into is None:
            continue
        clients, subscriptions = presence.get((stream, group), (0, 0))
        lag = {int(i): n for i, n in entry["lag"].items()}
        into["groups"].append({
            "group": group, "clients": clients, "subscriptions": subscriptions,
            "framesPerSecond": round(entry["frames"] / seconds, 2), "framesTotal": entry["framesTotal"],
            "refusedJoins": entry["refused"], "refusedJoinsTotal": entry["refusedTotal"],
            "deliveries": entry["changes"], "lagP50Ms": percentile(lag, 0.5), "lagP99Ms": percentile(lag, 0.99)})
        into["subscriptions"] += subscriptions
        into["framesPerSecond"] += entry["frames"] / seconds
        into["framesTotal"] += entry["framesTotal"]
        into["refusedJoins"] += entry["refused"]
        into["refusedJoinsTotal"] += entry["refusedTotal"]
        into["deliveries"] += entry["changes"]
        for index, n in lag.items():
            into["_lag"][index] = into["_lag"].get(index, 0) + n
    for into in per_stream.values():
        lag = into.pop("_lag")
        into["lagP50Ms"], into["lagP99Ms"] = percentile(lag, 0.5), percentile(lag, 0.99)
        into["framesPerSecond"] = round(into["framesPerSecond"], 2)
        into["groups"].sort(key=lambda g: (-g["framesPerSecond"], -g["clients"], g["group"]))
        into["groupCount"] = len(into["groups"])
        del into["groups"][max_groups:]
    return {"windowSeconds": round(seconds, 1), "workers": merged.get("workers", 1),
            "refusedConnections": merged.get("refusedConnections", 0), "streams": list(per_stream.values())}

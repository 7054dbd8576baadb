"""The event bus and stream-write scenarios of issue 22, each beside the bare thing it is built on,
in the same run and on the same pinned cores (``machine.own_cores``: the server, or the in-process
measurement, on the first half of the CPUs; the clients on the rest):

- ``bus``: ``bench/bus.py`` pinned to the server's cores: events/s (trivial handler) against the
  bare SQLite insert → claim → ack round trip, set()/s against a plain SQLite write of the item, the
  I/O-bound step (handler awaiting 200 ms, default settings) and the set()-loop stall in-process;
- ``set_loop``: ``bench/set_loop_probe.py`` against ``motia dev`` of ``bench/busapp``: 2,000 set()s in
  one step with 100 subscribers, another client's frame delay;
- ``shelter``: ``bench/shelter.py`` against the repository's pet shelter (``make dev``'s project, its
  default stage pauses) at 10, 25 and 50 pets/s: the queue's backlog over time.

Each returns ``figures``: ``{name: {ours, limit, ratio, unit, target, met}}`` (``limit``: the bare
figure measured in the same run, or None where the target is absolute), which report_limits.py
renders; the rest of the result is the detail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from machine import own_cores
from servers import Ours
from settings import BENCH, REPO, TMP

if TYPE_CHECKING:
    from scenarios import Run

BUSAPP = BENCH / "busapp"
SHELTER_RATES = (10, 25, 50)


def _quick(run: Run) -> bool:
    return run.sizes.cold_runs < 10


def _cpus(cpus: frozenset[int] | None) -> list[str]:
    return ["taskset", "-c", ",".join(map(str, sorted(cpus)))] if cpus else []


def figure(ours: float | None, limit: float | None, *, unit: str, target: str,
           met: bool | None, digits: int = 2) -> dict[str, Any]:
    """One figure as the report shows it: ours, the bare limit (same run), their ratio, the target."""
    ratio = round(ours / limit, digits + 1) if ours is not None and limit else None
    return {"ours": ours, "limit": limit, "ratio": ratio, "unit": unit, "target": target, "met": met}


def sc_bus(run: Run) -> dict[str, Any]:
    target = run.raw / "bus.json"
    quick = _quick(run)
    placement = own_cores()
    cmd = [*_cpus(placement.server), sys.executable, str(BENCH / "bus.py"), "--n", "2000" if quick else "20000",
           "--repeats", "1" if quick else "3", "--json", str(target)]
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    detail: dict[str, Any] = json.loads(target.read_text())
    ev, sets, io, stall = detail["events_trivial"], detail["sets"], detail["events_io"], detail["set_loop_stall"]
    figures = {
        "events/s, trivial event step vs SQLite insert → claim → ack": figure(
            ev["ours"]["per_s"], ev["limit"]["per_s"], unit="events/s", target="≥ 0.40",
            met=ev["ratio"] >= 0.40),
        "CPU per event vs the round trip's": figure(
            ev["ours"]["cpu_us"], ev["limit"]["cpu_us"], unit="µs", target="(context)", met=None),
        "set()/s, 0 subscribers vs a plain SQLite write of the item": figure(
            sets["ours"]["per_s"], sets["limit"]["per_s"], unit="set()/s", target="≥ 0.70",
            met=sets["ratio"] >= 0.70),
        "CPU per set() vs the plain write's": figure(
            sets["ours"]["cpu_us"], sets["limit"]["cpu_us"], unit="µs", target="(context)", met=None),
        "I/O-bound event step (handler awaits 200 ms), default settings": figure(
            io["per_s"], None, unit="events/s", target="≥ 500 (MOTIA_BUS_CONCURRENCY 1,000)",
            met=io["per_s"] >= 500),
        "2,000 set()s, 100 subscribers: the loop's longest stall (in-process)": figure(
            stall["max_loop_stall_ms"], stall["idle_max_ms"], unit="ms", target="≤ 20 ms",
            met=stall["max_loop_stall_ms"] <= 20),
    }
    return {"figures": figures, "detail": detail, "placement": placement.describe()}


def sc_set_loop(run: Run) -> dict[str, Any]:
    placement = own_cores()
    server = Ours(reload=False, root=BUSAPP)
    server.start("set_loop", cpus=placement.server)
    try:
        time.sleep(2)
        target = run.raw / "set-loop.json"
        sets, subs = (500, 20) if _quick(run) else (2000, 100)
        cmd = [sys.executable, str(BENCH / "set_loop_probe.py"), "--url", server.url, "--sets", str(sets),
               "--subscribers", str(subs), "--json", str(target)]
        if placement.client:
            cmd += ["--cpus", ",".join(map(str, sorted(placement.client)))]
        subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        detail: dict[str, Any] = json.loads(target.read_text())
    finally:
        server.stop()
    delay = detail["max_delay_ms"]
    figures = {
        f"{sets:,} set()s with {subs} subscribers: another client's frame delayed by": figure(
            delay, detail["probe_idle_p50_ms"], unit="ms", target="≤ 20 ms", met=delay is not None and delay <= 20),
    }
    return {"figures": figures, "detail": detail, "placement": placement.describe()}


def sc_shelter(run: Run) -> dict[str, Any]:
    quick = _quick(run)
    placement = own_cores()
    seconds, drain = (10, 20) if quick else (60, 60)
    out: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    for rate in SHELTER_RATES:
        server = Ours(reload=False, root=REPO)
        server.start(f"shelter{rate}", cpus=placement.server)
        try:
            db = TMP / "data" / f"ours-{server.starts}" / "motia.db"  # servers.Ours.command's data folder
            target = run.raw / f"shelter-{rate}.json"
            cmd = [*_cpus(placement.client), sys.executable, str(BENCH / "shelter.py"), "--url", server.url,
                   "--db", str(db), "--rate", str(rate), "--seconds", str(seconds), "--drain-seconds", str(drain),
                   "--json", str(target)]
            subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
            result: dict[str, Any] = json.loads(target.read_text())
        finally:
            server.stop()
        out[f"{rate}/s"] = result
        zero = result["backlog_zero_after_s"]
        figures[f"pet shelter at {rate} pets/s for {seconds} s: largest backlog"] = figure(
            result["max_backlog"], None, unit="messages", target="≤ 200" if rate == 50 else "(context)",
            met=result["max_backlog"] is not None and result["max_backlog"] <= 200 if rate == 50 else None)
        figures[f"pet shelter at {rate} pets/s: backlog 0 after the load stopped"] = figure(
            zero, None, unit="s", target="≤ 10 s" if rate == 50 else "(context)",
            met=zero is not None and zero <= 10 if rate == 50 else None)
    return {"figures": figures, "rates": out, "placement": placement.describe()}


BUS_RUNNERS = {"bus": sc_bus, "set_loop": sc_set_loop, "shelter": sc_shelter}

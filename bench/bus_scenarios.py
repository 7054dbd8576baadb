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

Each returns ``figures``, a list in the shape perfhttp's ``bench/limits.py`` gives its own (``figure``
below is that function's copy: import it from there once both are merged), which report.py renders in
"Against the machine's limit"; where a target is absolute (events/s, messages, ms) the figure's limit
is the target itself and its note says so. The rest of the result is the detail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from limits import figure
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


AGAINST_TARGET = "limit = the target itself (no bare equivalent)"


def sc_bus(run: Run) -> dict[str, Any]:
    target = run.raw / "bus.json"
    quick = _quick(run)
    placement = own_cores()
    cmd = [*_cpus(placement.server), sys.executable, str(BENCH / "bus.py"), "--n", "2000" if quick else "20000",
           "--repeats", "1" if quick else "3", "--json", str(target)]
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    detail: dict[str, Any] = json.loads(target.read_text())
    ev, sets, io, stall = detail["events_trivial"], detail["sets"], detail["events_io"], detail["set_loop_stall"]
    figures = [
        figure("events/s, trivial event step (vs SQLite insert → claim → ack)", "events/s", ev["ours"]["per_s"],
               ev["limit"]["per_s"], target=0.40),
        figure("CPU per event (vs the round trip's)", "µs", ev["ours"]["cpu_us"], ev["limit"]["cpu_us"],
               better="lower", note="context"),
        figure("set()/s, 0 subscribers (vs a plain SQLite write of the item)", "set()/s", sets["ours"]["per_s"],
               sets["limit"]["per_s"], target=0.70),
        figure("CPU per set() (vs the plain write's)", "µs", sets["ours"]["cpu_us"], sets["limit"]["cpu_us"],
               better="lower", note="context"),
        figure("I/O-bound event step (handler awaits 200 ms), default settings", "events/s", io["per_s"], 500,
               target=1.0, note=f"{AGAINST_TARGET}; at most MOTIA_BUS_CONCURRENCY (1,000) at once, "
               f"{io['peak_running']} reached"),
        figure("2,000 set()s, 100 subscribers: the loop's own CPU between two 1 ms ticks (in-process)", "ms",
               stall["max_loop_cpu_between_ticks_ms"], 20, target=1.0, better="lower",
               note=f"{AGAINST_TARGET}; wall-clock stall {stall['max_loop_stall_ms']} ms, idle "
               f"{stall['idle_max_ms']} ms"),
    ]
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
    figures = [figure(f"{sets:,} set()s to {subs} subscribers: another client's frame delayed by", "ms", delay, 20,
                      target=1.0, better="lower",
                      note=f"{AGAINST_TARGET}; the probe's idle median {detail['probe_idle_p50_ms']} ms")]
    return {"figures": figures, "detail": detail, "placement": placement.describe()}


def sc_shelter(run: Run) -> dict[str, Any]:
    quick = _quick(run)
    placement = own_cores()
    seconds, drain = (10, 20) if quick else (60, 60)
    out: dict[str, Any] = {}
    figures: list[dict[str, Any]] = []
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
        judged = rate == max(SHELTER_RATES)  # issue 22's target is at 50 pets/s; the others are context
        figures.append(figure(f"pet shelter at {rate} pets/s for {seconds} s: largest backlog", "messages",
                              result["max_backlog"] or 0.0, 200, target=1.0 if judged else None, better="lower",
                              note=AGAINST_TARGET if judged else "context"))
        figures.append(figure(f"pet shelter at {rate} pets/s: backlog 0 after the load, within", "s",
                              zero, 10, target=1.0 if judged else None, better="lower",
                              note=(AGAINST_TARGET if judged else "context") + ("" if zero is not None else
                                                                                 "; not drained")))
    return {"figures": figures, "rates": out, "placement": placement.describe()}


BUS_RUNNERS = {"bus": sc_bus, "set_loop": sc_set_loop, "shelter": sc_shelter}

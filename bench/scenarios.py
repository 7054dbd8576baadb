"""Each scenario of the suite (``sc_<name>``), the sizes it runs at, and the run they share."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limits import sc_api_limit, sc_fanout_limit, sc_stream_limit
from machine import SHARED, LoadMonitor, Placement, loadavg, own_cores
from redis_hop import sc_redis_hop
from servers import Ours, Server
from settings import BENCH, REPO, TMP, log
from sse_latency import sc_sse
from toolchain import node

SCENARIOS = ["startup", "memory", "api", "api_limit", "post", "stream", "stall", "official", "micro", "coldstart",
             "fanout", "fanout_scale", "fanout_limit", "stream_limit", "redis_hop", "soak", "build",
             "sse"]


@dataclass(frozen=True)
class Sizes:
    starts: int = 5
    peer_starts: int = 3
    idle_s: float = 10.0
    wrk_s: int = 10
    ping_n: int = 2000
    peer_ping_n: int = 300
    post_runs: int = 50
    # 5 samples a run: 60 runs give the p99 of 300 (20 runs gave it as the 1st or 2nd largest of 100)
    runs1: int = 60
    runs100: int = 60
    runs1000: int = 30
    stall_runs: int = 20  # of each kind, interleaved
    burst_runs: int = 20
    gap_ms: int = 50
    warmup: int = 10  # runs of the stream client discarded first (1,000 subscribers: warmup1000)
    warmup1000: int = 3
    official_runs: int = 20
    # 31: with 15, one case's median sat 13 ms above a case doing strictly more work (the repo app's api),
    # the spread of single runs here being 145-270 ms (the vCPU's speed, not load: CPU time = wall time)
    cold_runs: int = 31
    fanout_batches: int = 3
    fanout_records: int = 100
    fanout_subscribers: int = 1000
    # The soak (issue 14): POST /pets at soak_rate/s with soak_subscribers watching, for soak_s, then idle;
    # the RSS slope leaves out the first soak_warmup_s. run.py --soak-seconds (BENCH_SOAK_S) sets soak_s.
    soak_s: float = 300
    soak_rate: float = 50
    soak_subscribers: int = 200
    soak_warmup_s: float = 120
    soak_idle_s: float = 90


QUICK = Sizes(starts=2, peer_starts=1, idle_s=3, wrk_s=3, ping_n=300, peer_ping_n=50, post_runs=10, runs1=5,
              runs100=3, runs1000=2, stall_runs=2, burst_runs=3, warmup=1, warmup1000=1, official_runs=3,
              cold_runs=3, fanout_batches=2, fanout_records=20, fanout_subscribers=200, soak_s=40,
              soak_warmup_s=15, soak_idle_s=20)




@dataclass
class Run:
    sizes: Sizes
    servers: list[Server]
    clients: Path | None
    monitor: LoadMonitor
    raw: Path
    results: dict[str, Any] = field(default_factory=dict)

    def scenario(self, name: str, fn: Callable[[], Any]) -> None:
        log(f"scenario {name} (load {loadavg()})")
        since = time.time()
        t = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:  # a scenario that breaks is reported, the others still run
            log(f"scenario {name} FAILED: {type(exc).__name__}: {exc}")
            value = {"error": f"{type(exc).__name__}: {exc}"}
        self.results[name] = {"result": value, "load": self.monitor.stats(since),
                              "seconds": round(time.perf_counter() - t, 1)}

    def raw_file(self, server: Server, name: str) -> str:
        return str(self.raw / f"{server.name}-{name}.json")

    def drive(self, server: Server, label: str, script: str, *args: Any, raw: bool = True,
              env: dict[str, str] | None = None, placement: Placement = SHARED) -> dict[str, Any]:
        """One Node client against a freshly started ``server`` (given 2 s to settle), then stopped;
        the client's raw samples go to ``raw_file(server, label)``; each runs where ``placement``
        says."""
        assert self.clients is not None
        server.start(label, cpus=placement.server)
        time.sleep(2)
        try:
            result = node(self.clients, script, server.url, *args, cpus=placement.client,
                          env={**({"RAW": self.raw_file(server, label)} if raw else {}), **(env or {})})
            result["rss_after"] = server.rss()
            result["placement"] = placement.describe()
            return result
        finally:
            server.stop()


def sc_startup(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for server in run.servers:
        n = run.sizes.starts if server.name == "ours" else run.sizes.peer_starts
        times = []
        for i in range(n):
            time.sleep(1)
            times.append(round(server.start(f"startup{i}"), 1))
            server.stop()
        out[server.name] = {"ms": times, "median_ms": statistics.median(times)}
        if isinstance(server, Ours):  # and without the reloader (one process)
            lean = Ours(reload=False)
            lean_times = []
            for i in range(n):
                time.sleep(1)
                lean_times.append(round(lean.start(f"startup-noreload{i}"), 1))
                lean.stop()
            out["ours --no-reload"] = {"ms": lean_times, "median_ms": statistics.median(lean_times)}
    return out


def sc_memory(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for server in run.servers:
        server.start("memory")
        time.sleep(run.sizes.idle_s)
        out[server.name] = {"idle": server.rss()}
        server.stop()
        if isinstance(server, Ours):
            lean = Ours(reload=False)
            lean.start("memory-noreload")
            time.sleep(run.sizes.idle_s)
            out["ours --no-reload"] = {"idle": lean.rss()}
            lean.stop()
    return out


def _wrk(server: Server, seconds: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "10s", "-s",
                          str(BENCH / "wrk-report.lua"), f"{server.url}/ping"], capture_output=True, text=True,
                         timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(line[len("WRKJSON "):])
    return result


def sc_api(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for server in run.servers:
        server.start("api")
        time.sleep(2)
        res: dict[str, Any] = {"wrk": _wrk(server, run.sizes.wrk_s)}
        time.sleep(2)
        res["rss_after_wrk"] = server.rss()
        server.stop()
        if run.clients is not None:
            n = run.sizes.ping_n if server.name == "ours" else run.sizes.peer_ping_n
            # On a fresh server: the peer slows down with every invocation it has served.
            res["sequential"] = run.drive(server, "ping", "ping-latency.mjs", n, 50, 600)
        out[server.name] = res
    return out


def sc_post(run: Run) -> dict[str, Any]:
    return {server.name: run.drive(server, "post", "post-to-last.mjs", run.sizes.post_runs) for server in run.servers}


def _stream(run: Run, server: Server, label: str, k: int, runs: int, delay: int, gap: int, warmup: int,
            placement: Placement) -> dict[str, Any]:
    return run.drive(server, label, "stream-latency.mjs", k, runs, delay,
                     env={"GAP_MS": str(gap), "WARMUP": str(warmup)}, placement=placement)


def sc_stream(run: Run) -> dict[str, Any]:
    """The set() -> client runs, server and client each on its own cores (machine.own_cores), and the
    paced 1 and 100 again with both where the scheduler puts them (``shared_*``)."""
    s, own = run.sizes, own_cores()
    out: dict[str, Any] = {}
    for server in run.servers:
        out[server.name] = {
            "paced_1": _stream(run, server, "paced_1", 1, s.runs1, 300, s.gap_ms, s.warmup, own),
            "paced_100": _stream(run, server, "paced_100", 100, s.runs100, 500, s.gap_ms, s.warmup, own),
            "paced_1000": _stream(run, server, "paced_1000", 1000, s.runs1000, 3000, s.gap_ms, s.warmup1000, own),
            "burst_1": _stream(run, server, "burst_1", 1, s.burst_runs, 300, 0, s.warmup, own),
            "burst_100": _stream(run, server, "burst_100", 100, s.burst_runs, 500, 0, s.warmup, own),
            "shared_paced_1": _stream(run, server, "shared_paced_1", 1, s.runs1, 300, s.gap_ms, s.warmup, SHARED),
            "shared_paced_100": _stream(run, server, "shared_paced_100", 100, s.runs100, 500, s.gap_ms, s.warmup,
                                        SHARED),
        }
    return out


def sc_stall(run: Run) -> dict[str, Any]:
    """1,000 subscribers and one stalled client that joins every other run's group: the two kinds of
    run interleave on the same server, so the comparison is not one between two server starts."""
    s = run.sizes
    out: dict[str, Any] = {}
    for server in run.servers:
        result = run.drive(server, "stall", "stream-latency.mjs", 1000, 2 * s.stall_runs, 3000,
                           env={"GAP_MS": str(s.gap_ms), "STALL": "1", "STALL_ALTERNATE": "1",
                                "WARMUP": str(2 * s.warmup1000)}, placement=own_cores())
        out[server.name] = {
            cond: {**result["by_condition"][key], "runs": s.stall_runs, "missed_updates": result["missed_updates"],
                   "stalled_client_closed_by_server": result["stalled_client_closed_by_server"],
                   "placement": result["placement"]}
            for cond, key in (("without", "without_stalled"), ("with", "with_stalled"))
        }
    return out


def sc_official(run: Run) -> dict[str, Any]:
    return {server.name: run.drive(server, "official", "official-loss.mjs", run.sizes.official_runs, raw=False)
            for server in run.servers}


def sc_coldstart(run: Run) -> dict[str, Any]:
    target = run.raw / "coldstart.json"
    cmd = [sys.executable, str(BENCH / "coldstart.py"), "--runs", str(run.sizes.cold_runs), "--json", str(target),
           "--layer-venv", str(TMP / "venv-layer"), *(["--callgrind"] if run.sizes.cold_runs >= 10 else [])]
    subprocess.run(cmd, check=True, cwd=REPO)
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def sc_fanout(run: Run) -> dict[str, Any]:
    s = run.sizes
    out = {}
    shapes = [("spread", s.fanout_records, s.fanout_subscribers)]
    if s.fanout_records >= 100:
        shapes.append(("chains", s.fanout_records, s.fanout_subscribers))
    for shape, records, subscribers in shapes:
        target = run.raw / f"fanout-{shape}.json"
        subprocess.run([sys.executable, str(BENCH / "fanout.py"), "--records", str(records), "--subscribers",
                        str(subscribers), "--batches", str(s.fanout_batches), "--shape", shape, "--json", str(target)],
                       check=True, cwd=REPO)
        out[shape] = json.loads(target.read_text())
    return out


def sc_fanout_scale(run: Run) -> dict[str, Any]:
    """The big-room fan-out (bench/fanout_scale.py): 1k/10k/100k subscribers, 100 updates/s to 10k."""
    target = run.raw / "fanout-scale.json"
    quick = run.sizes.cold_runs < 10
    args = ["--sizes", "1000,10000", "--seconds", "0.2", "--rate-room", "2000", "--rate-shards", "64",
            "--joins", "300"] if quick else []
    subprocess.run([sys.executable, str(BENCH / "fanout_scale.py"), *args, "--json", str(target)], check=True,
                   cwd=REPO)
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def sc_build(run: Run) -> dict[str, Any]:
    """`make build` of this repository (bench/build.py): time, and the size of what sam deploy uploads."""
    target = run.raw / "build.json"
    subprocess.run([sys.executable, str(BENCH / "build.py"), "--json", str(target)], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def sc_micro(run: Run) -> dict[str, Any]:
    target = run.raw / "micro.json"
    n = 2000 if run.sizes.cold_runs >= 10 else 300
    subprocess.run([sys.executable, str(BENCH / "micro.py"), "--n", str(n), "--json", str(target)], check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def sc_soak(run: Run) -> dict[str, Any]:
    """The pet shelter of the repository (``functions/pets``, as ``make dev`` serves it, reload on, the
    shelter's default stage pauses, no OpenAI key: the fallback profile) under ``bench/soak.py``."""
    s = run.sizes
    server = Ours(root=REPO)
    server.start("soak")
    try:
        pid = server.main_pid()
        assert pid is not None
        target = run.raw / "soak.json"
        subprocess.run([sys.executable, str(BENCH / "soak.py"), "--url", server.url, "--pid", str(pid),
                        "--seconds", str(s.soak_s), "--rate", str(s.soak_rate), "--subscribers",
                        str(s.soak_subscribers), "--warmup-seconds", str(s.soak_warmup_s), "--idle-seconds",
                        str(s.soak_idle_s), "--json", str(target)], check=True, cwd=REPO)
        result: dict[str, Any] = json.loads(target.read_text())
        result["date"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        result["load_at_end"] = loadavg()
        return {"ours": result}
    finally:
        server.stop()


RUNNERS: dict[str, Callable[[Run], Any]] = {
    "startup": sc_startup, "memory": sc_memory, "api": sc_api, "post": sc_post, "stream": sc_stream,
    "stall": sc_stall, "official": sc_official, "micro": sc_micro, "coldstart": sc_coldstart, "fanout": sc_fanout,
    "fanout_scale": sc_fanout_scale,
    "soak": sc_soak,
    "build": sc_build,
    "api_limit": sc_api_limit, "fanout_limit": sc_fanout_limit, "stream_limit": sc_stream_limit,  # limits.py
    "sse": sc_sse,  # sse_latency.py: SSE beside the WebSocket, ours only
    "redis_hop": sc_redis_hop,  # redis_hop.py: --workers 2 over Redis against one process
}
NEEDS_NODE = {"post", "stream", "stall", "official", "stream_limit"}

# Issue 22's bus and stream-write scenarios live in their own module (bus_scenarios.py).
from bus_scenarios import BUS_RUNNERS  # noqa: E402 - it imports this module's Run only for typing

RUNNERS.update(BUS_RUNNERS)
SCENARIOS += [name for name in BUS_RUNNERS if name not in SCENARIOS]

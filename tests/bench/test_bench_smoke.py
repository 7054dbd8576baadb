"""The benchmark suite's scripts run at all, with tiny sizes: no timing is asserted here (figures are
bench/RESULTS.md's business, taken by ``make bench`` on a quiet machine). What is asserted are counts
the AWS scenario promises whatever the machine: one DynamoDB write and no read per ``set()``, one
subscriber query per room per fan-out batch. Scripts run in subprocesses: the bench app's step modules
(``functions.pets.*``) would collide with the repository app's in this process."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "OPENAI_"))}
    out = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def test_the_bench_app_mirrors_the_peer_and_loads() -> None:
    out = _run("-m", "motia_runtime", "check", "--root", str(BENCH / "app"))
    assert "5 steps, 1 streams: OK" in out.stdout
    # The peer's ping.step.ts, create-pet.step.ts, pet-progress.step.ts and pet-creation.stream.ts (and the
    # fan-out burst of bench/limits.py, ours only).
    ours = {p.name for p in (BENCH / "app").rglob("*.py")}
    assert {"ping_step.py", "create_pet_step.py", "pet_progress_step.py", "pet_creation_stream.py"} <= ours


def test_fanout_scenario_counts_dynamodb_calls(tmp_path: Path) -> None:
    target = tmp_path / "fanout.json"
    _run(str(BENCH / "fanout.py"), "--records", "2", "--subscribers", "4", "--batches", "2", "--latency-ms", "0",
         "--dynamodb-latency-ms", "0", "--json", str(target))
    result = json.loads(target.read_text())
    assert result["set_calls"]["writes_per_set"] == [1]
    assert result["set_calls"]["reads_per_set"] == [0]
    assert result["subscriber_queries_per_batch"] == [result["rooms_per_batch"]] * 2
    for batch in result["batches"]:
        assert batch["changes"] == 2 and batch["failed"] == 0
        assert batch["posts"] == 4  # 2 groups x 2 subscribers, one frame each


def test_fanout_scale_scenario_serves_every_subscriber_once_in_order(tmp_path: Path) -> None:
    target = tmp_path / "scale.json"
    _run(str(BENCH / "fanout_scale.py"), "--sizes", "300", "--shards", "4", "--big-room", "100", "--rate", "20",
         "--seconds", "0.5", "--rate-room", "200", "--rate-shards", "4", "--joins", "120", "--latency-ms", "0",
         "--dynamodb-latency-ms", "0", "--sqs-hop-ms", "0", "--json", str(target), timeout=300)
    result = json.loads(target.read_text())
    (one,) = result["one"]
    # Big from the 100th join: 4 shards, one delivery invocation each, all running at once.
    assert one["path"] == "two hops" and one["delivery_invocations"] == 4 and one["concurrent_invocations"] == 4
    assert one["consumer_calls"]["Query"] == 2  # the group's room and the item's, one query each
    (rate,) = result["rate"]
    assert rate["updates"] == 10 and rate["lost_or_repeated_or_reordered"] == 0
    assert rate["posts"] == 200 * 10
    joins = result["joins"]
    assert joins["calls_per_join"]["PutItem"] == 1 and 1 <= joins["calls_per_join"]["UpdateItem"] < 1.01


def test_cold_start_and_micro_scripts_run(tmp_path: Path) -> None:
    cold = tmp_path / "cold.json"
    _run(str(BENCH / "coldstart.py"), "--runs", "1", "--only", "fanout: import + init", "--json", str(cold))
    cases = json.loads(cold.read_text())["interpreters"]["dev venv"]["cases"]
    assert list(cases) == ["fanout: import + init"] and cases["fanout: import + init"]["median_ms"] > 0
    micro = tmp_path / "micro.json"
    _run(str(BENCH / "micro.py"), "--n", "5", "--repeats", "1", "--json", str(micro))
    assert set(json.loads(micro.read_text())) == {"log_entry", "trace_id", "api_ping", "event_chain"}


@pytest.mark.slow
def test_the_soak_script_runs_against_the_shelter(tmp_path: Path) -> None:
    from tests.pets.conftest import FAST
    from tests.support.dev_server import DevServer

    server = DevServer(REPO, tmp_path / "data", env=FAST).start()
    try:
        target = tmp_path / "soak.json"
        assert server.proc is not None
        _run(str(BENCH / "soak.py"), "--url", server.url, "--pid", str(server.proc.pid), "--seconds", "2",
             "--rate", "5", "--subscribers", "3", "--connections", "2", "--warmup-seconds", "0.5",
             "--idle-seconds", "1", "--sample-every", "0.2", "--json", str(target))
    finally:
        server.stop()
    result = json.loads(target.read_text())
    assert result["posted"] + result["not_sent_server_behind"] == 10
    assert result["answered"] == result["posted"] > 0 and result["errors"] == {}
    assert isinstance(result["slope_mb_per_min_whole_load"], float) and result["rss_kib"]["plateau"] > 0
    assert result["list_page_ms"] and result["frames_received"] > 0


def test_the_runner_writes_a_report_and_a_merged_run_keeps_the_other_scenarios(tmp_path: Path) -> None:
    """One runner start for both checks (each run.py is an interpreter and a micro run): the first
    run's report, then a merge over it that keeps a scenario it did not run (the soak's)."""
    soak = {"seconds": 300, "rate_per_s": 50, "subscribers": 200, "warmup_seconds": 120, "idle_seconds": 90,
            "posted": 15000, "not_sent_server_behind": 0, "answered": 15000, "errors": {}, "frames_received": 9,
            "post_ms": {"p50": 3.0, "p99": 9.0, "max": 20.0}, "post_late_ms": {"p50": 0, "p99": 1, "max": 2},
            "rss_kib": {"start": 50000, "at_warmup": 70000, "end_of_load": 71000, "plateau": 70500, "peak": 72000,
                        "idle_end": 70000}, "slope_mb_per_min_after_warmup": 0.12,
            "slope_mb_per_min_whole_load": 3.0, "idle_vs_plateau_pct": -0.7, "list_page_ms": [4.0, 3.5, 3.6],
            "date": "2026-12-06T23:00:00+00:00", "load_at_end": "1.0 1.0 1.0"}
    _run(str(BENCH / "run.py"), "--quick", "--only", "micro", "--quiet-wait", "0", "--out", str(tmp_path),
         timeout=300)
    document = json.loads((tmp_path / "results.json").read_text())
    assert "micro" in document["scenarios"] and "error" not in document["scenarios"]["micro"]["result"]
    first = (tmp_path / "RESULTS.md").read_text()
    assert "## Targets" in first and "Load average" in first
    document["scenarios"]["soak"] = {"result": {"ours": soak}, "load": {"min": 1, "max": 2, "mean": 1.5},
                                     "seconds": 400}
    (tmp_path / "results.json").write_text(json.dumps(document))
    # A second run of another scenario, merged: the soak's result stays and is reported.
    _run(str(BENCH / "run.py"), "--quick", "--only", "micro", "--merge", "--quiet-wait", "0", "--out",
         str(tmp_path), timeout=300)
    merged = json.loads((tmp_path / "results.json").read_text())
    assert merged["scenarios"]["soak"]["result"]["ours"] == soak and "micro" in merged["scenarios"]
    text = (tmp_path / "RESULTS.md").read_text()
    assert "### Soak: the pet shelter under a steady load" in text
    assert "soak RSS slope after the first 2 min" in text and "0.12 MB/min" in text


def test_the_bus_script_measures_each_figure_beside_its_floor(tmp_path: Path) -> None:
    target = tmp_path / "bus.json"
    _run(str(BENCH / "bus.py"), "--n", "300", "--repeats", "1", "--json", str(target), timeout=180)
    result = json.loads(target.read_text())
    for name in ("events_trivial", "sets"):
        assert result[name]["ours"]["per_s"] > 0 and result[name]["limit"]["per_s"] > 0
        assert result[name]["ratio"] == round(result[name]["ours"]["per_s"] / result[name]["limit"]["per_s"], 3)
    assert result["events_io"]["n"] == 500 and result["events_io"]["peak_running"] > 10  # more than the old 10
    assert result["set_loop_stall"]["sets"] == 2000 and result["set_loop_stall"]["max_loop_stall_ms"] > 0


def test_the_set_profile_times_each_layer_beside_the_floor() -> None:
    out = _run(str(BENCH / "set_profile.py"), "--n", "50", "--rounds", "2")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(result[layer] > 0 for layer in ("traced", "untraced", "store", "floor"))


def test_the_limits_table_shows_the_bus_figures_with_their_ratios() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from bus_scenarios import AGAINST_TARGET, figure
        from report import limit_section
    finally:
        sys.path.remove(str(BENCH))
    doc = {"scenarios": {"bus": {"result": {"figures": [
        figure("events/s", "events/s", 8000, 20000, target=0.40),
        figure("I/O-bound", "events/s", 900, 500, target=1.0, note=AGAINST_TARGET),
        figure("stall", "ms", 30, 20, target=1.0, better="lower")]}}, "micro": {"result": {}}}}
    text = limit_section(doc)
    assert "| events/s | 8,000 events/s | 20,000 events/s | 0.40 | — | ≥ 0.40 | met | `bus` |" in text
    assert "| I/O-bound | 900 events/s | 500 events/s | 1.80 | — | ≥ 1.00 | met | `bus`; " + AGAINST_TARGET in text
    assert "| stall | 30.0 ms | 20.0 ms | 1.50 | — | ≤ 1.00 | **not met** | `bus` |" in text
    assert limit_section({"scenarios": {"micro": {"result": {}}}}) == ""


@pytest.mark.slow
def test_the_shelter_and_set_loop_scripts_run(tmp_path: Path) -> None:
    from tests.pets.conftest import FAST
    from tests.support.dev_server import DevServer

    server = DevServer(REPO, tmp_path / "pets", env=FAST).start()
    try:
        target = tmp_path / "shelter.json"
        _run(str(BENCH / "shelter.py"), "--url", server.url, "--db", str(tmp_path / "pets" / "motia.db"), "--rate",
             "5", "--seconds", "1", "--drain-seconds", "20", "--every", "0.2", "--json", str(target))
    finally:
        server.stop()
    result = json.loads(target.read_text())
    assert result["posted"] == 5 and result["errors"] == {} and result["series"]
    assert result["all_done_after_s"] is not None and result["dead"] == 0
    server = DevServer(BENCH / "busapp", tmp_path / "bus").start()
    try:
        target = tmp_path / "probe.json"
        _run(str(BENCH / "set_loop_probe.py"), "--url", server.url, "--sets", "50", "--subscribers", "3",
             "--baseline-s", "0.3", "--json", str(target))
    finally:
        server.stop()
    probe = json.loads(target.read_text())
    assert probe["sets"] == 50 and probe["probe_idle_p50_ms"] > 0
    assert probe["bytes_received_by_subscribers"] > 50 * 3 * 50  # every frame reached every subscriber


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_clients_parse() -> None:
    for script in sorted((BENCH / "clients").glob("*.mjs")):
        out = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True)
        assert out.returncode == 0, f"{script.name}: {out.stderr}"


def _wait_for_port(port: int, timeout_s: float) -> None:
    """Until a server accepts connections on 127.0.0.1:``port`` (or the time is up: the caller's
    first request then fails with what went wrong)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)


@contextlib.contextmanager
def _bare_server() -> Iterator[tuple[str, int]]:
    """bench/bare_server.py on a free port: its URL and pid, once it accepts connections."""
    from tests.support.fake_openai import free_port

    port = free_port()
    bare = subprocess.Popen([sys.executable, str(BENCH / "bare_server.py"), "--port", str(port)])
    try:
        _wait_for_port(port, 10)
        yield f"http://127.0.0.1:{port}", bare.pid
    finally:
        bare.terminate()
        bare.wait(10)


def test_the_bare_server_runs_the_bench_step_for_the_sockets_that_joined() -> None:
    """The limit of the slowest-of-100 p99 (stream_limit): stream-latency.mjs drives the bare server as
    it drives ours. A join is answered with a sync; ``POST /pets`` answers a trace id, then the group's
    sockets (only those) get 5 updates ``gapMs`` apart, each stamped when encoded, then 2 events."""
    import httpx
    from websockets.sync.client import connect

    with _bare_server() as (url, _pid), contextlib.ExitStack() as stack:
        trace = httpx.post(f"{url}/pets", json={"name": "Rex", "startDelayMs": 300, "gapMs": 40}, timeout=10).json()
        sockets = [stack.enter_context(connect(url.replace("http", "ws", 1) + "/ws")) for _ in range(3)]
        for ws in sockets[:2]:
            ws.send(json.dumps({"type": "join", "data": {"streamName": "petCreation", "groupId": trace["traceId"],
                                                         "subscriptionId": "s"}}, separators=(",", ":")))  # as JS
        synced = [json.loads(ws.recv(timeout=5)) for ws in sockets[:2]]
        raw = [[ws.recv(timeout=5) for _ in range(7)] for ws in sockets[:2]]
        with pytest.raises(TimeoutError):
            sockets[2].recv(timeout=0.3)  # it never joined
    assert [m["event"] for m in synced] == [{"type": "sync", "data": []}] * 2
    assert raw[0] == raw[1]  # one frame per update, the same bytes to each subscriber
    frames = [json.loads(text) for text in raw[0]]
    assert all(f["groupId"] == trace["traceId"] and f["streamName"] == "petCreation" for f in frames)
    updates = [f["event"]["data"] for f in frames[:5]]
    assert [f["event"]["type"] for f in frames] == ["update"] * 5 + ["event"] * 2
    assert [u["seq"] for u in updates] == [1, 2, 3, 4, 5] and updates[0]["message"] == "Pet Rex: validating"
    assert all(b["sentAt"] - a["sentAt"] >= 39 for a, b in itertools.pairwise(updates))  # paced, never early


def test_the_machine_stall_probe_reports_each_cpu_and_the_report_prints_it() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from machine import stalls
        from report import stall_line
    finally:
        sys.path.remove(str(BENCH))
    found = stalls(0.3)
    assert set(found["cpus"]) == {str(c) for c in os.sched_getaffinity(0)}
    for cpu in found["cpus"].values():
        assert cpu["sleeps"] > 50 and 0 <= cpu["late_over_1ms"] <= cpu["sleeps"] and cpu["max_ms"] >= 0
    doc = {"date": "d", "stalls": {"seconds": 10, "date": "t", "cpus": {
        "0": {"late_over_1ms": 11, "per_s": 1.1, "max_ms": 3.85}, "1": {"late_over_1ms": 0, "per_s": 0, "max_ms": 0.3}},
        "damon": [{"operations": "paddr", "sample_us": "500000", "action": "pageout"}]}}
    line = stall_line(doc)
    assert "CPU 0: 11 (1.1/s), longest 3.85 ms; CPU 1: 0 (0/s), longest 0.3 ms." in line
    assert "DAMON runs in the kernel (paddr, sampling every 500 ms, scheme pageout)" in line
    assert stall_line({"date": "d"}) == ""


def _burner(name: str, cpu_s: float, linger_s: float) -> str:
    """A Python program that names itself, burns ``cpu_s`` of CPU, then stays ``linger_s`` (so a last
    sample still sees its total)."""
    return (f"import time\nopen('/proc/self/comm', 'w').write({name!r})\n"
            f"while time.process_time() < {cpu_s}: pass\ntime.sleep({linger_s})")


def test_other_work_counts_the_cpu_of_processes_outside_the_suite_only() -> None:
    """bench/machine.py OtherWork: a burner the suite started (a child) is the suite's own work; one
    re-parented away from it (its parent exited at once) is other work; and the report's header says so."""
    sys.path.insert(0, str(BENCH))
    try:
        from machine import OtherWork
        from report import other_work_line, quiet_run
    finally:
        sys.path.remove(str(BENCH))
    other = OtherWork()
    inside = subprocess.Popen([sys.executable, "-c", _burner("motia-burn-in", 0.6, 1.5)])
    # The middle process exits as soon as it started the burner: the burner is no one's in this tree.
    subprocess.run([sys.executable, "-c", "import subprocess, sys\n"
                    f"subprocess.Popen([sys.executable, '-c', {_burner('motia-burn-out', 0.6, 1.5)!r}], "
                    "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)"], check=True)
    half_s = os.sysconf("SC_CLK_TCK") // 2
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and other.ticks.get("motia-burn-out", 0) < half_s:
        time.sleep(0.2)
        other.sample()
    inside.wait(30)
    other.sample()
    stats = other.stats()
    assert other.ticks.get("motia-burn-out", 0) >= half_s, other.ticks  # at least 0.5 s of its 0.6 seen
    assert "motia-burn-in" not in other.ticks, other.ticks
    assert stats["cpu_s"] >= 0.5 and stats["mean_cpus"] > 0
    doc = {"quiet": {"quiet": True}, "load_during_run": {"mean": 1.5}, "other_work": {
        "seconds": 100, "cpu_s": 0.4, "mean_cpus": 0.004, "busiest": [["sshd", 0.3], ["cron", 0.1]]}}
    assert quiet_run(doc)  # the suite's own load (mean 1.5) does not make a run noisy; other work does
    assert ("0.4 CPU-s in 100 s, a mean of 0.004 CPUs (quiet: under 0.05); busiest: sshd 0.3 s, cron 0.1 s."
            in other_work_line(doc))
    assert not quiet_run({**doc, "other_work": {**doc["other_work"], "mean_cpus": 0.2}})
    assert not quiet_run({"quiet": {"quiet": True}, "load_during_run": {"mean": 1.5}})  # an older run: the load


def test_the_fanout_client_counts_every_frame_from_ours_and_the_bare_server(tmp_path: Path) -> None:
    """bench/fanout_local.py (scenario fanout_limit) against motia dev and bench/bare_server.py, tiny sizes."""
    from tests.support.dev_server import DevServer

    server = DevServer(BENCH / "app", tmp_path / "data").start()
    try:
        assert server.proc is not None
        _run(str(BENCH / "fanout_local.py"), "--url", server.url, "--pid", str(server.proc.pid), "--kind", "ours",
             "--n", "20", "--updates", "3", "--rounds", "1", "--settle", "0.1", "--json", str(tmp_path / "ours.json"))
    finally:
        server.stop()
    ours = json.loads((tmp_path / "ours.json").read_text())
    # Every subscriber took each update's frame: frames/s counts N x updates frames.
    assert ours["subscribers"] == 20 and ours["frames_per_s_median"] > 0 and ours["frame_payload_bytes"] > 50
    with _bare_server() as (url, pid):
        _run(str(BENCH / "fanout_local.py"), "--url", url, "--pid", str(pid), "--kind",
             "bare", "--n", "20", "--updates", "3", "--rounds", "1", "--settle", "0.1", "--frame-bytes",
             str(ours["frame_payload_bytes"]), "--json", str(tmp_path / "bare.json"))
    result = json.loads((tmp_path / "bare.json").read_text())
    assert result["frame_payload_bytes"] == ours["frame_payload_bytes"] and result["slowest_ms_median"] > 0


def test_sse_latency_scenario_measures_both_transports(tmp_path: Path) -> None:
    """bench/sse_latency.py against motia dev on the bench app: every update reaches both the SSE
    and the WebSocket client (timings are not asserted)."""
    from tests.support.dev_server import DevServer

    server = DevServer(BENCH / "app", tmp_path / "data").start()
    try:
        target = tmp_path / "sse.json"
        _run(str(BENCH / "sse_latency.py"), "--url", server.url, "--runs", "2", "--warmup", "0", "--delay-ms", "200",
             "--gap-ms", "0", "--json", str(target))
    finally:
        server.stop()
    result = json.loads(target.read_text())
    assert result["missed_updates"] == {"websocket": 0, "sse": 0}
    assert result["latency_ms"]["websocket"]["n"] == 10 and result["latency_ms"]["sse"]["n"] == 10
    assert 0 <= result["latency_ms"]["sse"]["min"] <= result["latency_ms"]["sse"]["p50"]


def test_the_redis_hop_client_finds_a_subscriber_on_each_worker(tmp_path: Path) -> None:
    """bench/redis_hop.py (scenario redis_hop) against ``motia dev --workers 2`` on a real redis-server:
    one subscriber on each worker, and every update timed at both (one on the setter's worker, one not);
    then the bare hop through the same redis-server, every stamp read by the other process."""
    from tests.redis.server import RedisServer
    from tests.support.fake_openai import free_port

    redis = RedisServer(tmp_path / "redis").start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "OPENAI_"))}
    server = subprocess.Popen([sys.executable, "-m", "motia_runtime", "dev", "--root", str(BENCH / "app"), "--port",
                               str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2", "--redis-url",
                               redis.url], cwd=REPO, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("wb"))
    try:
        _wait_for_port(port, 60)
        _run(str(BENCH / "redis_hop.py"), "--url", f"http://127.0.0.1:{port}", "--updates", "6", "--warmup", "2",
             "--json", str(tmp_path / "hop.json"))
        # The bare hop beside it, through the same redis-server: a publishing process, a subscribed one.
        _run(str(BENCH / "redis_hop.py"), "--bare-redis", str(redis.port), "--updates", "6", "--warmup", "2",
             "--json", str(tmp_path / "bare.json"))
    finally:
        os.killpg(server.pid, 15)
        try:
            # One clean-clone run under load saw the two workers and their supervisor take over 20 s
            # to stop (not reproduced alone or beside CPU burners): a stop that never comes still
            # fails here, with what the server wrote.
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
            raise AssertionError("motia dev --workers 2 did not stop within 60 s of SIGTERM; its log ends:\n"
                                 + (tmp_path / "server.log").read_text(errors="replace")[-3000:]) from None
        finally:
            redis.stop()
    hop = json.loads((tmp_path / "hop.json").read_text())
    assert len(hop["workers"]) == 2 and hop["missed"] == 0
    assert hop["local_ms"]["n"] == 6 and hop["remote_ms"]["n"] == 6 and hop["added_p50_ms"] is not None
    bare = json.loads((tmp_path / "bare.json").read_text())
    assert bare["n"] == 6 and 0 < bare["p50"] <= bare["p95"] <= bare["p99"]

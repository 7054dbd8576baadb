"""The benchmark suite's scripts run at all, with tiny sizes: no timing is asserted here (figures are
bench/RESULTS.md's business, taken by ``make bench`` on a quiet machine). What is asserted are counts
the AWS scenario promises whatever the machine: one DynamoDB write and no read per ``set()``, one
subscriber query per room per fan-out batch. Scripts run in subprocesses: the bench app's step modules
(``functions.pets.*``) would collide with the repository app's in this process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
    assert "4 steps, 1 streams: OK" in out.stdout
    # The peer's ping.step.ts, create-pet.step.ts, pet-progress.step.ts and pet-creation.stream.ts.
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


def test_the_runner_writes_a_report(tmp_path: Path) -> None:
    _run(str(BENCH / "run.py"), "--quick", "--only", "micro", "--quiet-wait", "0", "--out", str(tmp_path),
         timeout=300)
    document = json.loads((tmp_path / "results.json").read_text())
    assert "micro" in document["scenarios"] and "error" not in document["scenarios"]["micro"]["result"]
    text = (tmp_path / "RESULTS.md").read_text()
    assert "## Targets" in text and "Load average" in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_clients_parse() -> None:
    for script in sorted((BENCH / "clients").glob("*.mjs")):
        out = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True)
        assert out.returncode == 0, f"{script.name}: {out.stderr}"

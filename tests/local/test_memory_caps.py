"""What ``motia dev`` keeps in memory is capped, each cap configurable, over real HTTP on loopback.

The Workbench's traces (oldest evicted first), the events kept per trace and the log ring are capped
(``MOTIA_WORKBENCH_TRACES``, ``MOTIA_WORKBENCH_TRACE_EVENTS``, ``MOTIA_WORKBENCH_LOGS``); past the caps
the Workbench still answers, naming an evicted trace as such. bench/soak.py measures the whole
server's memory under a long load (bench/RESULTS.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydantic_core
import pytest

from motia_runtime.errors import ConfigError
from motia_runtime.hosts.local.traces import TraceRecorder
from motia_runtime.limits import Limits
from tests.support.inprocess import InProcessServer

APP = Path(__file__).parent / "app"
CAPS = {"MOTIA_WORKBENCH_TRACES": "5", "MOTIA_WORKBENCH_TRACE_EVENTS": "4", "MOTIA_WORKBENCH_LOGS": "10",
        "MOTIA_WORKBENCH_TRACE_MB": "1"}


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    dev = InProcessServer(APP, tmp_path_factory.mktemp("capped"), env=CAPS).start()
    yield dev
    dev.stop()


@pytest.mark.slow
def test_past_the_caps_the_oldest_traces_go_and_the_workbench_still_answers(capped: InProcessServer) -> None:
    with httpx.Client(base_url=capped.url, timeout=10) as http:
        # One trace with more operations than a trace keeps: 12 stream sets.
        burst = http.post("/items/caps/a", json={"op": "burst", "count": 12})
        assert burst.status_code == 200
        busy = burst.headers["x-trace-id"]
        kept = http.get(f"/__motia/traces/{busy}").json()
        assert len(kept["events"]) == 4 and kept["droppedEvents"] >= 8
        assert kept["counts"]["stream"] == 12  # the counts still tell the whole story
        ids = [busy]
        for n in range(7):
            response = http.post(f"/items/caps/{n}", json={"op": "set", "data": {"label": "x", "n": n}})
            assert response.status_code == 200
            ids.append(response.headers["x-trace-id"])
        # The app's once-a-second cron step makes traces too: ours are the newest of the five kept.
        listed = [t["id"] for t in http.get("/__motia/traces").json()["traces"]]
        mine = [t for t in listed if t in ids]
        assert len(listed) == 5 and mine == ids[::-1][:len(mine)] and mine[0] == ids[-1]
        gone = http.get(f"/__motia/traces/{busy}")
        assert gone.status_code == 404 and "evicted" in gone.json()["error"]
        assert http.get(f"/__motia/traces/{ids[-1]}").status_code == 200
        assert http.get("/__motia/health").status_code == 200


@pytest.mark.slow
def test_the_log_ring_keeps_the_newest_entries_up_to_its_cap(capped: InProcessServer) -> None:
    with httpx.Client(base_url=capped.url, timeout=10) as http:
        for n in range(15):  # each delivery logs "received" with its data
            assert http.post("/emit/undeclared-check", json={"data": {"n": n}}).status_code == 200
        deadline = time.monotonic() + 20
        while True:
            logs = http.get("/__motia/logs").json()["logs"]
            received = [e["n"] for e in logs if e.get("msg") == "received"]
            if (len(received) == 10 and 14 in received) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(logs) == 10 and len(received) == 10 and 14 in received
        assert [e["seq"] for e in logs] == sorted(e["seq"] for e in logs)


def test_the_caps_default_and_refuse_a_bad_setting() -> None:
    recorder = TraceRecorder()
    assert recorder.memory() == {"traces": 0, "maxTraces": 300, "traceBytes": 0, "maxTraceBytes": 8_000_000,
                                 "logs": 0, "maxLogs": 5000, "logBytes": 0, "maxLogBytes": 8_000_000}
    assert recorder._max_events == 2000
    limits = Limits.from_env(CAPS)  # as motia dev reads them, once, into its settings
    assert TraceRecorder(limits=limits).memory()["maxTraces"] == 5
    for bad in ("lots", "0"):
        with pytest.raises(ConfigError, match="MOTIA_WORKBENCH_TRACES"):
            Limits.from_env({"MOTIA_WORKBENCH_TRACES": bad})


def test_the_byte_budget_evicts_the_oldest_traces_but_never_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CAPS:  # the default trace events, not the capped server's (it shares this process)
        monkeypatch.delenv(name, raising=False)
    recorder = TraceRecorder(max_traces=1000, max_bytes=55_000)
    for n in range(20):  # ~10.5 KB per trace: five fit the budget
        recorder.step_started(f"T-{n}", "S", {"type": "cron"})
        for i in range(5):
            recorder.operation(f"T-{n}", "S", "state", {"op": "set", "group": "g", "key": str(i), "value": "x" * 2000})
        memory = recorder.memory()
        assert memory["traceBytes"] <= 55_000
    assert [t["id"] for t in recorder.traces()] == [f"T-{n}" for n in range(19, 14, -1)]
    assert recorder.memory()["traceBytes"] == sum(
        len(pydantic_core.to_json(e)) for t in recorder.traces() for e in recorder.trace(t["id"])["events"])
    # One trace larger than the whole budget: kept alone (its own event cap still bounds it).
    recorder.step_started("big", "S", {"type": "cron"})
    for i in range(30):
        recorder.operation("big", "S", "state", {"op": "set", "group": "g", "key": str(i), "value": "y" * 3000})
    assert [t["id"] for t in recorder.traces()] == ["big"]
    assert len(recorder.trace("big")["events"]) == 30
    # Kept bytes follow events dropped by the per-trace cap too.
    small = TraceRecorder(max_events=3, max_bytes=10_000_000)
    small.step_started("T", "S", {"type": "cron"})
    for i in range(10):
        small.operation("T", "S", "state", {"op": "set", "group": "g", "key": str(i), "value": "z" * 100})
    kept = small.trace("T")["events"]
    assert len(kept) == 3 and small.memory()["traceBytes"] == sum(len(pydantic_core.to_json(e)) for e in kept)


def test_the_workbench_page_outbox_is_a_setting(capped: InProcessServer) -> None:
    from motia_runtime.hosts.local.workbench.feed import MAX_OUTBOX, WorkbenchFeed

    assert WorkbenchFeed().max_outbox == MAX_OUTBOX == 5000
    assert Limits.from_env({"MOTIA_WORKBENCH_OUTBOX_FRAMES": "50"}).workbench_outbox_frames == 50
    with pytest.raises(ConfigError, match="MOTIA_WORKBENCH_OUTBOX_FRAMES"):
        Limits.from_env({"MOTIA_WORKBENCH_OUTBOX_FRAMES": "-1"})
    # The host hands its feed the settings' figure (the capped server's is from its environment).
    host = capped.host
    assert host is not None and host.feed.max_outbox == host.settings.limits.workbench_outbox_frames
    assert host.settings.limits.workbench_traces == 5


def test_the_log_ring_is_bounded_in_bytes_too() -> None:
    recorder = TraceRecorder(limits=Limits(workbench_logs_mb=1), max_logs=10_000)
    for n in range(600):  # ~4 KB each: about 250 fit in 1 MB
        recorder.log({"level": "info", "time": n, "msg": f"m{n}", "blob": "b" * 3900})
        assert recorder.memory()["logBytes"] <= 1_000_000
    kept = recorder.logs(limit=10_000)
    assert 200 < len(kept) < 300 and kept[-1]["msg"] == "m599"
    assert [e["time"] for e in kept] == list(range(600 - len(kept), 600))
    assert recorder.memory()["logBytes"] == sum(len(pydantic_core.to_json(e)) for e in kept)
    huge = TraceRecorder(max_log_bytes=100)
    huge.log({"level": "info", "time": 1, "msg": "x" * 500})
    assert len(huge.logs()) == 1  # the newest entry is always kept

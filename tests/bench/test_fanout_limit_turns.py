"""The ``fanout_limit`` scenario's method (bench/limits.py): ours and the bare broadcast take turns at
each N, and each figure is the median over every burst of both turns. The servers are stood in for
here (the scenario itself runs them: tests/bench/test_bench_smoke.py drives fanout_local.py against
both for real); what is checked is the order of the runs and how their figures are pooled."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("BENCH_TMP", str(tmp_path))
    monkeypatch.syspath_prepend(str(BENCH))
    for name in ("settings", "machine", "servers", "toolchain", "limits"):
        sys.modules.pop(name, None)  # settings reads BENCH_TMP at import
    import limits as module

    yield module
    for name in ("settings", "machine", "servers", "toolchain", "limits"):
        sys.modules.pop(name, None)


def test_ours_and_bare_take_turns_and_every_burst_counts(limits: Any, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    calls: list[tuple[str, int, int, int]] = []

    def fake(server: Any, kind: str, n: int, placement: Any, run: Any, frame_bytes: int, rounds: int,
             turn: int = 0) -> dict[str, Any]:
        calls.append((kind, n, turn, frame_bytes))
        base = 100 if kind == "ours" else 200
        return {"frame_payload_bytes": 231, "kib_per_subscriber": 26.0 + turn,
                "slowest_ms": [base + turn, base + 10 + turn, base + 20 + turn],
                "frames_per_s": [1000 * (turn + 1)] * 3, "server_cpu_us_per_frame": [10.0 + turn] * 3,
                "client_cpu_share": [0.5] * 3}

    monkeypatch.setattr(limits, "_fanout", fake)
    monkeypatch.setattr(limits, "FANOUT_SIZES", (10, 20))
    run = SimpleNamespace(sizes=SimpleNamespace(wrk_s=10), raw=tmp_path)
    result = limits.sc_fanout_limit(run)

    # Each N: ours then bare, then bare then ours; the bare frame always the size ours sent.
    assert [(k, n, t) for k, n, t, _ in calls] == [
        ("ours", 10, 0), ("bare", 10, 0), ("bare", 10, 1), ("ours", 10, 1),
        ("ours", 20, 0), ("bare", 20, 0), ("bare", 20, 1), ("ours", 20, 1)]
    assert all(fb == 231 for k, _, _, fb in calls if k == "bare")
    ours = result["by_subscribers"]["10"]["ours"]
    assert ours["slowest_ms"] == [100, 110, 120, 101, 111, 121] and ours["slowest_ms_median"] == 110.5
    assert ours["frames_per_s_median"] == 1500 and ours["server_cpu_us_per_frame_median"] == 10.5
    assert ours["kib_per_subscriber"] == 26.5 and len(ours["turns"]) == 2 and result["turns"] == 2
    figures = {f["figure"]: f for f in result["figures"]}
    assert figures["fan-out frames/s to 20 subscribers of one group"]["ratio"] == 1.0
    assert figures["slowest of 10 subscribers, one update"]["ours"] == 110.5
    assert figures["slowest of 10 subscribers, one update"]["limit"] == 210.5
    assert figures["fan-out server CPU per frame, 10 subscribers"]["ratio"] == 1.0

"""Lookups into a results.json document and the cell and table formatting of bench/RESULTS.md (bench/report.py)."""

from __future__ import annotations

from typing import Any


def _get(d: Any, *path: Any) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _res(doc: dict[str, Any], scenario: str, *path: Any) -> Any:
    return _get(doc, "scenarios", scenario, "result", *path)


def _fmt(x: Any, unit: str = "", digits: int | None = None) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        if digits is None:
            digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2
        x = f"{x:,.{digits}f}"
    return f"{x}{unit}"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds % 60 == 0 else f"{seconds:g} s"


def _warmup(r: dict[str, Any]) -> str:
    return f", after {r['warmup_runs']} warm-up" if r.get("warmup_runs") else ""


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _summ(s: dict[str, Any] | None) -> str:
    if not s or not s.get("n"):
        return "—"
    return f"{_fmt(s['p50'])} / {_fmt(s['p95'])} / {_fmt(s['p99'])} / {_fmt(s['max'])}"

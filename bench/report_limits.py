"""The "Limits" table of RESULTS.md (issue 22): every scenario result that carries ``figures``
(``{name: {ours, limit, ratio, unit, target, met}}``, see bus_scenarios.figure) gets one row per
figure: ours, the bare limit measured in the same run and on the same cores, their ratio, the target."""

from __future__ import annotations

from typing import Any


def _num(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and abs(x) < 100:
        return f"{x:,.2f}".rstrip("0").rstrip(".") if x else "0"
    return f"{x:,.0f}" if isinstance(x, int | float) else str(x)


def limit_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, entry in (doc.get("scenarios") or {}).items():
        result = entry.get("result") if isinstance(entry, dict) else None
        figures = result.get("figures") if isinstance(result, dict) else None
        for label, f in (figures or {}).items():
            met = {True: "met", False: "**not met**", None: ""}[f.get("met")]
            unit = f" {f['unit']}" if f.get("unit") else ""
            rows.append([label, f"{_num(f.get('ours'))}{unit}",
                         f"{_num(f.get('limit'))}{unit}" if f.get("limit") is not None else "—",
                         _num(f.get("ratio")), f.get("target", ""), met, f"`{name}`"])
    return rows


def limits_section(doc: dict[str, Any]) -> str:
    rows = limit_rows(doc)
    if not rows:
        return ""
    header = ["figure", "ours", "the limit, same run", "ratio", "target", "", "scenario"]
    lines = ["## Limits: each figure beside the bare thing it is built on\n",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"

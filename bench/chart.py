"""bench/latency.png: the latency distributions (ECDF) of the round-1 scenarios, from the raw samples
a run keeps in its raw folder (``python bench/report.py`` redraws it with RESULTS.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


# -- chart --------------------------------------------------------------------------------------
def _load_raw(raw: Path, name: str) -> dict[str, list[float]]:
    p = raw / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _stall_samples(raw: Path, server: str, condition: str) -> list[float]:
    """Every receipt of the stall scenario's runs of one kind (with or without the stalled client)."""
    by_condition = _load_raw(raw, f"{server}-stall").get("by_condition") or {}
    samples: list[float] = by_condition.get(condition, {}).get("real", [])
    return samples


def render_chart(doc: dict[str, Any], raw: Path, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    servers = [("ours", "tab:blue"), ("motia", "tab:red")] if doc.get("peer") else [("ours", "tab:blue")]
    panels: list[tuple[str, list[tuple[str, str, Callable[[str], list[float]]]]]] = [
        ("GET /ping, sequential", [("", "", lambda s: _load_raw(raw, f"{s}-ping").get("ping", []))]),
        ("POST /pets round trip", [("", "", lambda s: _load_raw(raw, f"{s}-post").get("post_rtt", []))]),
        ("POST response → 5th update", [("", "", lambda s: _load_raw(raw, f"{s}-post").get("to_last", []))]),
        ("set() → client, 1 subscriber", [("", "", lambda s: _load_raw(raw, f"{s}-paced_1").get("real", []))]),
        ("set() → slowest subscriber", [
            ("100", "-", lambda s: _load_raw(raw, f"{s}-paced_100").get("slowest", [])),
            ("1,000", ":", lambda s: _load_raw(raw, f"{s}-paced_1000").get("slowest", []))]),
        ("1,000 subscribers: every receipt", [
            ("no stalled client", "-", lambda s: _stall_samples(raw, s, "without_stalled")),
            ("one stalled client", ":", lambda s: _stall_samples(raw, s, "with_stalled"))]),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for ax, (title, series) in zip(axes.flat, panels, strict=True):
        drawn = False
        for server, colour in servers:
            for label, style, get in series:
                xs = sorted(x for x in get(server) if x > 0)
                if not xs:
                    continue
                ys = [(i + 1) / len(xs) for i in range(len(xs))]
                ax.step(xs, ys, where="post", color=colour, linestyle=style or "-",
                        label=f"{server}{' ' + label if label else ''} (p50 {xs[len(xs) // 2]:.2g} ms, n={len(xs)})")
                drawn = True
        ax.set_title(title)
        ax.set_xscale("log")
        # A panel spanning less than a decade gets labelled minor ticks ("3x10^-1 4x10^-1 ..."),
        # which overlap; label the decades only, in plain numbers.
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.set_xlabel("ms (log)")
        ax.set_ylabel("fraction ≤ x")
        ax.grid(True, which="both", alpha=0.3)
        if drawn:
            ax.legend(fontsize=7, loc="lower right")
        else:
            ax.text(0.5, 0.5, "not measured", ha="center", transform=ax.transAxes)
    fig.suptitle(f"Latency distributions (ECDF): motia_runtime{' vs Motia 0.17' if doc.get('peer') else ''} — "
                 f"{doc['date']}, load {doc['load_during_run']['min']}-{doc['load_during_run']['max']}")
    fig.tight_layout()
    fig.savefig(target, dpi=90)
    plt.close(fig)

"""bench/RESULTS.md and bench/latency.png from the document bench/run.py collects (bench/results.json).

``python bench/report.py [results.json] [raw-dir]`` renders them again without measuring.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from report_format import _duration, _fmt, _res, _table
from report_sections import detail_sections, limit_section

BENCH = Path(__file__).resolve().parent

# What Motia measured on this kind of machine (shared/reference/motia-peer.md), used only when the
# peer did not run in the same run; marked as such in the table.
REFERENCE = {"rps": 16.64, "post_rtt_p50": 129.4, "to_last_p50": 105.3, "startup": 1940.0, "idle_mb": 164.0,
             "stale": 13, "stale_runs": 20, "set1_p99": 4.81, "slowest100_p99": 13.83}


class Row:
    def __init__(self, figure: str, ours: Any, peer: Any, unit: str, target: str,
                 ratio: float | None, met: bool | None, peer_is_reference: bool = False, note: str = "") -> None:
        self.figure, self.ours, self.peer, self.unit = figure, ours, peer, unit
        self.target, self.ratio, self.met, self.ref, self.note = target, ratio, met, peer_is_reference, note

    def cells(self) -> list[str]:
        peer = _fmt(self.peer, self.unit)
        if self.peer is not None and self.ref:
            peer += " (ref.)"
        ratio = "—" if self.ratio is None or not math.isfinite(self.ratio) else f"{self.ratio:,.0f}x" \
            if self.ratio >= 10 else f"{self.ratio:.1f}x"
        met = {True: "**met**", False: "**not met**", None: "n/a"}[self.met]
        return [self.figure, _fmt(self.ours, self.unit), peer, ratio, self.target, met + (f" {self.note}" if self.note
                                                                                          else "")]


def _peer_or_ref(doc: dict[str, Any], value: Any, ref_key: str) -> tuple[Any, bool]:
    if doc.get("peer") and value is not None:
        return value, False
    return REFERENCE.get(ref_key), True


def _beside_bare(doc: dict[str, Any], fig: str) -> str:
    """The same p99 measured again beside the bare server in ``stream_limit``, when that scenario ran."""
    want = {"set() → client, 1 subscriber, p99": "set() → 1 subscriber p99",
            "set() → slowest of 100 subscribers, p99": "set() → slowest of 100 subscribers p99"}.get(fig)
    found = next((f for f in _res(doc, "stream_limit", "figures") or [] if want and f["figure"].startswith(want)),
                 None)
    if not found or found.get("ours") is None or found.get("limit") is None:
        return ""
    bare = "the bare echo paced the same" if "1 subscriber" in want else "the bare server by the same client"
    return f"; again beside the bare server: {_fmt(found['ours'], ' ms')}, {bare} {_fmt(found['limit'], ' ms')}"


def target_rows(doc: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []

    def stat(scenario: str, server: str, *path: Any) -> Any:
        return _res(doc, scenario, server, *path)

    # API throughput
    ours_rps = stat("api", "ours", "wrk", "rps")
    peer_rps, ref = _peer_or_ref(doc, stat("api", "motia", "wrk", "rps"), "rps")
    ratio = ours_rps / peer_rps if ours_rps and peer_rps else None
    rows.append(Row("API requests/s, GET /ping, wrk 2 threads x 32 connections", ours_rps, peer_rps, "", "≥ 100x Motia",
                    ratio, None if ratio is None else ratio >= 100, ref))
    # POST round trip
    ours_rtt = stat("post", "ours", "post_rtt_ms", "p50")
    peer_rtt, ref = _peer_or_ref(doc, stat("post", "motia", "post_rtt_ms", "p50"), "post_rtt_p50")
    ratio = peer_rtt / ours_rtt if ours_rtt and peer_rtt else None
    rows.append(Row("POST /pets round trip, p50", ours_rtt, peer_rtt, " ms", "≥ 20x faster", ratio,
                    None if ratio is None else ratio >= 20, ref))
    # set() -> client
    for label, key, fig, limit, ref_key in (
        ("paced_1", "latency_ms_real_update_frame", "set() → client, 1 subscriber, p99", 2.0, "set1_p99"),
        ("paced_100", "fanout_last_subscriber_ms_per_update", "set() → slowest of 100 subscribers, p99", 5.0,
         "slowest100_p99"),
        ("paced_1000", "fanout_last_subscriber_ms_per_update", "set() → slowest of 1,000 subscribers, p99", 50.0, ""),
    ):
        ours = stat("stream", "ours", label, key, "p99")
        peer, ref = _peer_or_ref(doc, stat("stream", "motia", label, key, "p99"), ref_key)
        placement = stat("stream", "ours", label, "placement")
        shared = stat("stream", "ours", f"shared_{label}", key, "p99")
        note = "" if placement in (None, "shared") else f"({placement}" + (
            "" if shared is None else f"; shared: {_fmt(shared, ' ms')}") + _beside_bare(doc, fig) + ")"
        rows.append(Row(fig, ours, peer, " ms", f"≤ {limit:g} ms", peer / ours if ours and peer else None,
                        None if ours is None else ours <= limit, ref, note))
    # response -> 5th update
    ours = stat("post", "ours", "post_response_to_last_update_ms", "p50")
    peer, ref = _peer_or_ref(doc, stat("post", "motia", "post_response_to_last_update_ms", "p50"), "to_last_p50")
    rows.append(Row("POST response → 5th update of the event step, p50", ours, peer, " ms", "≤ 5 ms",
                    peer / ours if ours and peer else None, None if ours is None else ours <= 5, ref))
    # stalled client
    without = stat("stall", "ours", "without", "latency_ms_real_update_frame", "p99")
    with_ = stat("stall", "ours", "with", "latency_ms_real_update_frame", "p99")
    moved = (with_ / without - 1) * 100 if with_ and without else None
    pw = stat("stall", "motia", "without", "latency_ms_real_update_frame", "p99")
    pv = stat("stall", "motia", "with", "latency_ms_real_update_frame", "p99")
    pmoved = (pv / pw - 1) * 100 if pv and pw else None
    rows.append(Row("a stalled client among 1,000: the others' p99 moved by", moved, pmoved, " %", "≤ 10 %", None,
                    None if moved is None else moved <= 10))
    # startup, memory
    ours = stat("startup", "ours", "median_ms")
    peer, ref = _peer_or_ref(doc, stat("startup", "motia", "median_ms"), "startup")
    rows.append(Row("start → first 200 (`motia dev`, reload on), median", ours, peer, " ms", "≤ 1,000 ms",
                    peer / ours if ours and peer else None, None if ours is None else ours <= 1000, ref))
    ours_kib = stat("memory", "ours", "idle", "main_kib")
    peer_kib = stat("memory", "motia", "idle", "main_kib")
    ours_mb = ours_kib / 1024 if ours_kib else None
    peer_mb, ref = _peer_or_ref(doc, peer_kib / 1024 if peer_kib else None, "idle_mb")
    rows.append(Row("resident memory idle, serving process", ours_mb, peer_mb, " MB", "≤ 80 MB",
                    peer_mb / ours_mb if ours_mb and peer_mb else None,
                    None if ours_mb is None else ours_mb <= 80, ref))
    # official client
    ours = stat("official", "ours", "item_runs_ending_stale")
    runs = stat("official", "ours", "runs")
    peer = stat("official", "motia", "item_runs_ending_stale")
    peer_runs = stat("official", "motia", "runs")
    ref = False
    if not doc.get("peer"):
        peer, peer_runs, ref = REFERENCE["stale"], REFERENCE["stale_runs"], True
    rows.append(Row("official item client ending stale after 5 quick updates",
                    None if ours is None else f"{ours} of {runs}", None if peer is None else f"{peer} of {peer_runs}",
                    "", "0", None, None if ours is None else ours == 0, ref))
    # Lambda cold start
    cold = _res(doc, "coldstart", "interpreters") or {}
    for venv, info in cold.items():
        cases = {k: v for k, v in info["cases"].items() if k.endswith(": import + init")}
        if cases:
            worst_case, worst = max(cases.items(), key=lambda kv: kv[1]["median_ms"])
            met = [k.split(":")[0] for k, v in cases.items() if v["median_ms"] <= 200]
            # What any entry point pays before our code, measured in the same minutes: context for the ms.
            floor_case = next((v for k, v in info["cases"].items() if k.startswith("floor")), None)
            floor = f"; the floor, asyncio + pydantic, {_fmt(floor_case['median_ms'])} ms" if floor_case else ""
            # The layer venv is what a function built by `make build` loads; the dev venv (every dev
            # tool installed, pydantic's plugin search on) is shown for context, not held to the target.
            lambda_like = venv == "layer venv"
            rows.append(Row(f"Lambda cold start (import + init), slowest entry point: {worst_case.split(':')[0]} "
                            f"({venv}), median", worst["median_ms"], None, " ms", "≤ 200 ms" if lambda_like else "—",
                            None, worst["median_ms"] <= 200 if lambda_like else None,
                            note=f"(≤ 200 ms: {', '.join(met) or 'none'}{floor}"
                                 + ("" if lambda_like else "; context: not what a built function loads") + ")"))
    # AWS fan-out
    spread = _res(doc, "fanout", "spread")
    if spread:
        rows.append(Row(f"AWS fan-out batch: {spread['records_per_batch_changes']} records → {spread['subscribers']} "
                        f"subscribers, 20 ms per post, warm median", spread["warm_batch_ms_median"], None, " ms",
                        "≤ 1,000 ms", None, spread["warm_batch_ms_median"] <= 1000))
        queries = spread["subscriber_queries_per_batch"]
        rows.append(Row("subscriber queries per batch (rooms in the batch)",
                        f"{max(queries)} ({spread['rooms_per_batch']})", None, "", "1 per room", None,
                        max(queries) <= spread["rooms_per_batch"]))
        sets = spread["set_calls"]
        rows.append(Row("DynamoDB calls per set(): writes / reads",
                        f"{'/'.join(map(str, sets['writes_per_set']))} / {'/'.join(map(str, sets['reads_per_set']))}",
                        None, "", "1 / 0", None, sets["writes_per_set"] == [1] and sets["reads_per_set"] == [0]))
    scale = _res(doc, "fanout_scale")
    if scale:
        for r in scale.get("one", []):
            limit = {10_000: 1000, 100_000: 5000}.get(r["subscribers"])
            if limit:
                rows.append(Row(f"AWS big room: one update → {r['subscribers']:,} subscribers of one group, last post "
                                f"after the stream record ({r['shards']} shards, {r['concurrent_invocations']} "
                                "invocations at once)", r["last_post_ms"], None, " ms", f"≤ {limit:,} ms", None,
                                r["last_post_ms"] <= limit))
        for r in scale.get("rate", []):
            rows.append(Row(f"AWS big room: {r['updates_per_s']} updates/s to {r['subscribers']:,} subscribers "
                            f"({r['shards']} shards): connections with every frame once, in order",
                            f"{r['connections_with_every_frame_once_in_order']:,} / {r['connections']:,}", None, "",
                            "all", None, r["lost_or_repeated_or_reordered"] == 0))
        worst = max((r["read_units"]["max_per_key"] for r in scale.get("one", [])), default=0)
        rows.append(Row("AWS big room: most read units on one partition key per update (of 3,000/s)", worst, None,
                        "", "< 3,000", None, worst < 3000))
    # The soak (issue 14): no growth under a steady load, and nothing kept once it stops
    soak = _res(doc, "soak", "ours")
    if soak and "slope_mb_per_min_after_warmup" in soak:
        slope = soak["slope_mb_per_min_after_warmup"]
        what = (f"{soak['rate_per_s']:g} POST /pets/s, {soak['subscribers']} subscribers, "
                f"{_duration(soak['seconds'])}")
        rows.append(Row(f"soak RSS slope after the first {_duration(soak['warmup_seconds'])} ({what})", slope, None,
                        " MB/min", "≤ 0.5 MB/min", None, None if slope is None else slope <= 0.5))
        pct = soak["idle_vs_plateau_pct"]
        rows.append(Row(f"soak RSS after {soak['idle_seconds']:g} s idle vs its plateau under load", pct, None, " %",
                        "within 10 %", None, None if pct is None else abs(pct) <= 10))
    # make build: artifacts and time
    build = _res(doc, "build")
    if build and "error" not in build:
        upload = build["upload_bytes"] / 1e6
        layers = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in build["layer_zip_bytes"].items())
        rows.append(Row(f"`make build` upload (`sam deploy`, zipped, {build['architecture']})", upload, None, " MB",
                        "≤ 40 MB", None, upload <= 40,
                        note=f"(layers {layers}; with each function's identical zip counted: "
                             f"{build['upload_bytes_with_duplicates'] / 1e6:.1f} MB)"))
        code = build["largest_function_code_bytes"] / 1e6
        rows.append(Row("largest function's own code (zipped)", code, None, " MB", "≤ 1 MB", None, code <= 1))
        rows.append(Row("`make build`, warm (nothing changed; SAM CLI " + ("run" if build["sam"] else "absent") + ")",
                        build["warm_s"], None, " s", "≤ 90 s", None, build["warm_s"] <= 90,
                        note=f"(layers reinstalled, pip cache warm: {_fmt(build['cold_layers_s'])} s"
                             + (f"; measured {build['measured']}" if build.get("measured") else "") + ")"))
    return rows


def stall_line(doc: dict[str, Any]) -> str:
    """The machine's own scheduling stalls (bench/machine.py ``stalls``), the floor under every p99."""
    st = doc.get("stalls")
    if not st:
        return ""
    cpus = "; ".join(f"CPU {cpu}: {c['late_over_1ms']} ({c['per_s']:g}/s), longest {c['max_ms']:g} ms"
                     for cpu, c in st["cpus"].items())
    monitors = "".join(
        f" DAMON runs in the kernel ({d['operations']}, sampling every {int(d['sample_us']) / 1000:g} ms, "
        f"scheme {d['action']}): its thread takes the CPU it wakes on at each sample."
        for d in st.get("damon") or [] if d.get("sample_us", "").isdigit())
    return (f"**Scheduling stalls** (a 1 ms sleep loop pinned to each CPU, all at once, {st['seconds']:g} s, "
            f"{st.get('date', doc['date'])}): wake-ups more than 1 ms late: {cpus}.{monitors} A latency's "
            "p99 over a few hundred samples cannot be under these stalls when more than 1 % of the samples "
            "overlap one.")


OTHER_WORK_QUIET_CPUS = 0.05  # the mean CPUs other processes may use in a run called quiet


def quiet_run(doc: dict[str, Any]) -> bool:
    """Quiet: the load fell under the threshold before the first scenario, and nothing else used the
    cores during the run. Other work is measured directly when the run has it (``other_work``); an
    older run only has the load average, which counts the suite's own servers and clients too (it
    peaks near 2 in the wrk scenario), so there the mean over the whole run stands in."""
    if not doc["quiet"].get("quiet"):
        return False
    other = doc.get("other_work")
    if other:
        return bool(other["mean_cpus"] < OTHER_WORK_QUIET_CPUS)
    return bool(doc["load_during_run"]["mean"] < 1.0)


def other_work_line(doc: dict[str, Any]) -> str:
    other = doc.get("other_work")
    if not other:
        return ""
    busiest = ", ".join(f"{name} {cpu_s} s" for name, cpu_s in other["busiest"]) or "none"
    return (f"**Other work** (user processes outside the suite's process tree, sampled every second): "
            f"{other['cpu_s']} CPU-s in {other['seconds']} s, a mean of {other['mean_cpus']} CPUs (quiet: under "
            f"{OTHER_WORK_QUIET_CPUS}); busiest: {busiest}.  \n")


def render_markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    q = doc["quiet"]
    rows = target_rows(doc)
    peer_note = (f"Motia {doc['peer_version']} ran in the same run (`make bench-peer`), each scenario on a freshly "
                 "started server, interleaved with ours." if doc.get("peer") else
                 "Ours only (`make bench`): Motia's column holds the figures of shared/reference/motia-peer.md, marked "
                 "(ref.); `make bench-peer` measures both in one run.")
    warn = ""
    if not quiet_run(doc):
        warn = ("\n> **The machine was not quiet** (see the load averages and other work): other work shared its "
                "2 cores, so absolute figures are pessimistic and noisy.\n")
    opt = BENCH / "optimisations.md"
    sections = [
        "# Benchmarks: motia_runtime side by side with Motia 0.17\n",
        f"Generated by `bench/run.py`{' --quick (small sizes: not for quoting)' if doc.get('quick') else ''} on "
        f"{doc['date']} (UTC). {peer_note}\n",
        f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"Python {m['python']}, "
        f"uvicorn {m['uvicorn']} (uvloop {m.get('uvloop', '?')}, httptools {m.get('httptools', '?')}), "
        f"Starlette {m['starlette']}; Node {m['node']}, {m['wrk']}, {m['redis']}.  \n"
        f"**Load average** (1/5/15 min): {q['load_at_start']} at the start (after waiting {q['waited_s']} s for "
        f"the 1-minute load to drop under {q['threshold']}: {'reached' if q['quiet'] else 'not reached'}); 1-minute "
        f"load during the run {doc['load_during_run']['min']}-{doc['load_during_run']['max']} (mean "
        f"{doc['load_during_run']['mean']}); {doc['load_at_end']} at the end.  \n{other_work_line(doc)}"
        f"{stall_line(doc)}\n{warn}",
        "## Targets\n",
        _table(["figure", "ours", "Motia", "ratio", "target", ""], [r.cells() for r in rows]),
        limit_section(doc),
        "\n## Details\n",
        detail_sections(doc),
        "\n![latency distributions](latency.png)\n",
        (BENCH / "METHOD.md").read_text() if (BENCH / "METHOD.md").exists() else "",
        opt.read_text() if opt.exists() else "",
    ]
    return "\n".join(sections).rstrip() + "\n"


if __name__ == "__main__":
    from chart import render_chart

    src = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "results.json"
    document = json.loads(src.read_text())
    raw_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(document["raw_dir"])
    render_chart(document, raw_dir, src.with_name("latency.png"))
    src.with_name("RESULTS.md").write_text(render_markdown(document))

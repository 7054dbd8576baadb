"""bench/RESULTS.md and bench/latency.png from the document bench/run.py collects (bench/results.json).

``python bench/report.py [results.json] [raw-dir]`` renders them again without measuring.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent

# What Motia measured on this kind of machine (shared/reference/motia-peer.md), used only when the
# peer did not run in the same run; marked as such in the table.
REFERENCE = {"rps": 16.64, "post_rtt_p50": 129.4, "to_last_p50": 105.3, "startup": 1940.0, "idle_mb": 164.0,
             "stale": 13, "stale_runs": 20, "set1_p99": 4.81, "slowest100_p99": 13.83}


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
            "" if shared is None else f"; shared: {_fmt(shared, ' ms')}") + ")"
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


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _summ(s: dict[str, Any] | None) -> str:
    if not s or not s.get("n"):
        return "—"
    return f"{_fmt(s['p50'])} / {_fmt(s['p95'])} / {_fmt(s['p99'])} / {_fmt(s['max'])}"


def detail_sections(doc: dict[str, Any]) -> str:
    servers = ["ours", "motia"] if doc.get("peer") else ["ours"]
    parts = []
    load = lambda name: _get(doc, "scenarios", name, "load")  # noqa: E731
    loadtxt = lambda name: (f"load during the scenario: {load(name)['min']}-{load(name)['max']} (mean "  # noqa: E731
                            f"{load(name)['mean']})" if load(name) else "")

    if _res(doc, "api"):
        rows = []
        for s in servers:
            w = _res(doc, "api", s, "wrk") or {}
            seq = _res(doc, "api", s, "sequential") or {}
            pct = w.get("latency_ms", {}).get("percentiles", {})
            rows.append([s, _fmt(w.get("rps")),
                         f"{_fmt(pct.get('50'))} / {_fmt(pct.get('90'))} / {_fmt(pct.get('99'))}",
                         str(w.get("requests", "—")), str(w.get("errors", "—")),
                         f"{seq.get('completed', '—')}", _summ(seq.get("latency_ms")),
                         _fmt((_res(doc, "api", s, "rss_after_wrk") or {}).get("main_kib", 0) / 1024, " MB")])
        parts.append("### API: GET /ping\n\n" + _table(
            ["server", "wrk req/s", "wrk p50 / p90 / p99 ms", "requests", "errors", "sequential n",
             "sequential p50 / p95 / p99 / max ms", "RSS after wrk"], rows) + f"\n\n{loadtxt('api')}")

    if _res(doc, "post"):
        rows = []
        for s in servers:
            r = _res(doc, "post", s) or {}
            rows.append([s, str(r.get("runs")), str(r.get("incomplete_runs")), str(r.get("runs_final_state_in_sync")),
                         _summ(r.get("post_rtt_ms")), _summ(r.get("post_response_to_first_update_ms")),
                         _summ(r.get("post_response_to_last_update_ms")), _summ(r.get("first_to_last_update_ms"))])
        parts.append("### POST /pets → the event step's 5 updates (p50 / p95 / p99 / max, ms)\n\n" + _table(
            ["server", "runs", "incomplete", "final state already in the sync", "POST round trip",
             "response → 1st update", "response → 5th update", "1st → 5th"], rows) + f"\n\n{loadtxt('post')}")

    if _res(doc, "stream"):
        rows = []
        for s in servers:
            for label, title in (("paced_1", "1, paced"), ("paced_100", "100, paced"), ("paced_1000", "1,000, paced"),
                                 ("burst_1", "1, burst"), ("burst_100", "100, burst"),
                                 ("shared_paced_1", "1, paced"), ("shared_paced_100", "100, paced")):
                r = _res(doc, "stream", s, label) or {}
                if not r:
                    continue
                if "error" in r:
                    rows.append([s, title, "—", "—", "—", "—", "—", "—", "—", str(r.get("error", ""))[:60]])
                    continue
                rows.append([s, title, r.get("placement", "shared"),
                             f"{r['runs']} x 5 (gap {r['gapMs']} ms{_warmup(r)})", str(r["missed_updates"]),
                             _summ(r["latency_ms_real_update_frame"]),
                             _summ(r["fanout_last_subscriber_ms_per_update"]),
                             _summ(r.get("first_to_last_receipt_ms_per_update")), _summ(r["join_all_synced_ms"]),
                             _fmt(r["rss_after"]["main_kib"] / 1024, " MB")])
        parts.append("### set() → client (p50 / p95 / p99 / max, ms)\n\n"
                     "*paced*: the event step waits `gapMs` between its 5 set()s (the peer's step has the same knob), "
                     "so each update's delivery is measured on its own; *burst*: the kit's own run, 5 set()s back to "
                     "back, so the 5th update queues behind the first four's frames to every subscriber. "
                     "*first → last receipt*: per update, from the first subscriber's receipt to the last one's, "
                     "all read by the one Node process of the measuring client. *CPUs*: where the server (with the "
                     "peer's Redis) and the client ran; *shared*: wherever the scheduler put them (the method's "
                     "*Placement*). Warm-up runs are run first and not counted.\n\n" + _table(
                         ["server", "subscribers", "CPUs", "runs", "missed", "every receipt",
                          "slowest subscriber per update",
                          "first → last receipt", "join → all synced", "RSS after"], rows) + f"\n\n{loadtxt('stream')}")

    if _res(doc, "stall"):
        rows = []
        for s in servers:
            for label in ("without", "with"):
                r = _res(doc, "stall", s, label) or {}
                if not r or "error" in r:
                    continue
                rows.append([s, label, r.get("placement", "shared"), str(r["missed_updates"]),
                             _summ(r["latency_ms_real_update_frame"]),
                             _summ(r["fanout_last_subscriber_ms_per_update"]),
                             str(r.get("stalled_client_closed_by_server", "—"))])
        parts.append("### 1,000 subscribers, with and without one stalled client (p50 / p95 / p99 / max, ms)\n\n"
                     "Runs alternate on one server: the stalled client joins every other run's group. "
                     "The stalled client stops reading its socket, first takes ~6 MB of ballast (16 runs with a "
                     "60 KB name, in groups only it joined) so its TCP buffers are full, then joins every measured "
                     "group as the 1,001st "
                     "subscriber. Figures are the 1,000 healthy subscribers'.\n\n" + _table(
                         ["server", "stalled client", "CPUs", "missed", "every receipt", "slowest per update",
                          "stalled client closed"], rows) + f"\n\n{loadtxt('stall')}")

    if _res(doc, "startup") or _res(doc, "memory"):
        rows = []
        for s in [*servers[:1], "ours --no-reload", *servers[1:]]:
            st = _res(doc, "startup", s) or {}
            mem = _res(doc, "memory", s, "idle") or {}
            peak = _get(doc, "peak_rss_during_run", s) or {}
            rows.append([s, ", ".join(_fmt(x) for x in st.get("ms", [])) or "—", _fmt(st.get("median_ms")),
                         _fmt(mem.get("main_kib", 0) / 1024 if mem else None, " MB"),
                         _fmt(mem.get("group_kib", 0) / 1024 if mem else None, " MB"), str(mem.get("processes", "—")),
                         _fmt(peak.get("main_kib", 0) / 1024 if peak else None, " MB") if s in servers else "—",
                         _fmt(peak.get("group_kib", 0) / 1024 if peak else None, " MB") if s in servers else "—"])
        parts.append("### Start-up and memory\n\n" + _table(
            ["server", "start → first 200 (ms)", "median ms", "idle RSS, serving process", "idle RSS, process group",
             "processes", "peak RSS during the run, serving", "peak, group"], rows))

    if _res(doc, "official"):
        rows = []
        for s in servers:
            r = _res(doc, "official", s) or {}
            rows.append([s, str(r.get("runs")), str(r.get("item_runs_ending_stale")), str(r.get("item_updates_missed")),
                         str(r.get("group_runs_ending_stale")), str(r.get("group_updates_missed")),
                         str(r.get("of_updates"))])
        parts.append("### Motia's own Node client (`@motiadev/stream-client-node`), 5 quick updates per run\n\n"
                     + _table(
            ["server", "runs", "item sub. ending stale", "item updates missed", "group sub. ending stale",
             "group updates missed", "of updates"], rows))

    micro = _res(doc, "micro")
    if micro and "error" not in micro:
        names = {"log_entry": "a `ctx.logger.info` entry", "trace_id": "a trace id",
                 "api_ping": "`run_api` of `GET /ping` (no HTTP)",
                 "event_chain": "the `PetProgress` event: 5 set()s + 2 send()s, 1 subscriber"}
        parts.append("### Per-operation costs in one process (best of 5 rounds, µs)\n\n" + _table(
            ["operation", "µs"], [[names.get(k, k), _fmt(float(v))] for k, v in micro.items()])
            + f"\n\n{loadtxt('micro')}")

    cold = _res(doc, "coldstart", "interpreters")
    if cold:
        names = list(next(iter(cold.values()))["cases"])
        rows = [[name, *[f"{_fmt(v['cases'][name]['median_ms'])} ({_fmt(v['cases'][name]['wall_median_ms'])})"
                         if name in v["cases"] else "—" for v in cold.values()],
                 _fmt(next((v["cases"][name].get("instructions_m") for v in cold.values()
                            if v["cases"].get(name, {}).get("instructions_m")), None), " M")] for name in names]
        tops = "\n".join(f"- {venv}: " + ", ".join(f"{n} {ms:.1f} ms" for n, ms in info["top_self_imports_api"])
                         for venv, info in cold.items())
        parts.append("### Lambda cold start (median of "
                     f"{_res(doc, 'coldstart', 'runs')} fresh interpreters; ms inside the interpreter, (whole process "
                     "wall time); instructions up to the end of the case, without the interpreter's teardown, "
                     "layer venv)\n\n" + _table(["case", *cold.keys(),
                                                                         "instructions"], rows)
                     + "\n\nLargest self import times on the api path (`-X importtime`, one run):\n" + tops
                     + f"\n\n{loadtxt('coldstart')}")

    fan = _res(doc, "fanout")
    if fan:
        rows = []
        for shape, r in fan.items():
            if "error" in r:
                continue
            rows.append([shape, str(r["records_per_batch_changes"]),
                         f"{r['subscribers']} ({r['subscribers_per_group']}/group)",
                         str(sum(b["posts"] for b in r["batches"]) // max(len(r["batches"]), 1)),
                         _fmt(r["cold_batch_ms"]), _fmt(float(r["warm_batch_ms_median"])),
                         _fmt(statistics.median(b.get("cpu_ms", 0) for b in (r["batches"][1:] or r["batches"]))),
                         _fmt(r["floor_ms"]),
                         str(max(b["max_concurrent_posts"] for b in r["batches"])),
                         ", ".join(f"{k} {v}" for k, v in r["batches"][-1]["dynamodb_calls"].items()),
                         str(r["fanout_max_workers"])])
        parts.append("### AWS fan-out (writes on moto; the entry point against a stand-in answering each post "
                     "after 20 ms and each DynamoDB call after 5 ms)\n\n" + _table(
            ["shape", "changes/batch", "subscribers", "posts/batch", "first batch ms", "warm batch ms (median)",
             "CPU ms of the batch (median, all threads)", "floor ms (posts in order per connection)",
             "max concurrent posts", "DynamoDB calls in a batch",
             "fan-out threads"], rows) + f"\n\n{loadtxt('fanout')}")
    scale = _res(doc, "fanout_scale")
    if scale:
        parts.append(_scale_section(scale) + f"\n\n{loadtxt('fanout_scale')}")
    soak = _res(doc, "soak", "ours")
    if soak and "rss_kib" in soak:
        mb = lambda kib: _fmt(kib * 1024 / 1e6, " MB") if kib else "—"  # noqa: E731
        r = soak["rss_kib"]
        rows = [[f"{soak['seconds']:g} s at {soak['rate_per_s']:g}/s, {soak['subscribers']} subscribers, then "
                 f"{soak['idle_seconds']:g} s idle", f"{soak['answered']} / {soak['posted']}" + (
                     f" ({soak['not_sent_server_behind']} due, not sent)" if soak.get("not_sent_server_behind")
                     else ""),
                 ", ".join(f"{k}: {v}" for k, v in soak["errors"].items()) or "none",
                 f"{_fmt(soak['post_ms']['p50'])} / {_fmt(soak['post_ms']['p99'])} / {_fmt(soak['post_ms']['max'])}",
                 str(soak["frames_received"]), f"{mb(r['start'])} → {mb(r['at_warmup'])} → {mb(r['end_of_load'])}",
                 mb(r["plateau"]), mb(r["peak"]), mb(r["idle_end"]),
                 _fmt(soak["slope_mb_per_min_after_warmup"], digits=3),
                 _fmt(soak["slope_mb_per_min_whole_load"], digits=3),
                 " / ".join(_fmt(x) for x in soak["list_page_ms"])]]
        parts.append(f"### Soak: the pet shelter under a steady load (run on {soak.get('date', '?')})\n\n"
                     "Method: `bench/soak.py` against `motia dev` on the repository's project (reload on, the "
                     "shelter's default stage pauses, no OpenAI key so every pet gets the fallback profile); each "
                     "`POST /pets` answer moves the next of the subscribers (round robin) to the new pet's "
                     "`petCreation` group; RSS of the serving process every second; the slope is a least-squares "
                     "line through the samples after the warm-up until the load stops; the plateau is the median of "
                     "the load's last minute. `GET /pets` pages (limit 50) were read at the end, with every soak pet "
                     "stored.\n\n" + _table(
                         ["load", "POSTs answered / sent", "errors", "POST p50 / p99 / max ms", "frames received",
                          "RSS start → warm-up end → end of load", "plateau", "peak", "after idle",
                          "slope after warm-up MB/min", "slope whole load MB/min", "GET /pets?limit=50 pages ms"],
                         rows) + f"\n\n{loadtxt('soak')}; 1/5/15-min load at the end {soak.get('load_at_end')}"
                     + ("\n\n> **Other work shared the machine during the soak** (the load above, on 2 cores): the "
                        "server may have fallen behind the offered rate (POSTs not sent are counted) and its figures "
                        "are pessimistic." if (load("soak") or {}).get("mean", 0) >= 1.0 else ""))
    sse = _res(doc, "sse", "ours")
    if sse and sse.get("latency_ms"):
        parts.append(sse_section(sse) + f"\n\n{loadtxt('sse')}")
    return "\n\n".join(parts)


def sse_section(r: dict[str, Any]) -> str:
    """The ``sse`` scenario (bench/sse_latency.py): SSE beside the WebSocket, same runs, same server."""
    rows = [[name, str(r["latency_ms"][key].get("n", 0)), str(r["missed_updates"][key]), _summ(r["latency_ms"][key])]
            for name, key in (("WebSocket", "websocket"), ("SSE", "sse"))]
    return ("### Streams over SSE beside the WebSocket: set() → client\n\n"
            f"Method: `bench/sse_latency.py`, one Python client at a time, runs alternating between the transports "
            f"on one `motia dev` (bench app): each run posts `/pets`, joins the new group (a WebSocket join, or "
            f"`GET /__streams/petCreation/<group>` with `Accept: text/event-stream`), and takes the 5 paced updates' "
            f"receipt time minus the step's `sentAt`; {r['runs_each']} runs of each after {r['warmup_runs_each']} "
            f"discarded, {r['gapMs']} ms between updates. Ours only: Motia 0.17 has no SSE.\n\n"
            + _table(["transport", "samples", "missed", "p50 / p95 / p99 / max ms"], rows))


def _scale_section(scale: dict[str, Any]) -> str:
    st = scale["settings"]
    one = scale.get("one", [])
    rows = [[f"{r['subscribers']:,}", f"{r['shards']}", r["path"], _fmt(r["consumer_ms"]),
             f"{r['delivery_invocations']} ({r['posts_per_invocation']['min']:,}-{r['posts_per_invocation']['max']:,} "
             "posts each)",
             f"{_fmt(r['delivery_ms']['median'])} / {_fmt(r['delivery_ms']['max'])}", _fmt(r["cpu_ms_per_post"]),
             _fmt(r["last_post_ms"]) + (f" ({', '.join(_fmt(x) for x in r['last_post_ms_runs'])})"
                                        if len(r.get("last_post_ms_runs", [])) > 1 else ""),
             _fmt(r["last_post_ms_with_stream_poll"]), str(r["concurrent_invocations"]),
             f"{_fmt(r['read_units']['per_update'])} / {_fmt(r['read_units']['max_per_key'])}",
             f"{_fmt(r['write_units']['per_update'])} / {_fmt(r['write_units']['max_per_key'])}",
             f"${r['cost_per_million_updates_per_subscriber_usd']['total']:.4f}",
             ", ".join(str(x) for x in r.get("load", []))] for r in one]
    text = ("### AWS fan-out at scale: big rooms (`bench/fanout_scale.py`; the real consumer and delivery entry "
            f"points against a stand-in answering each post after {_fmt(st['post_ms'])} ms and each DynamoDB or SQS "
            f"call after {_fmt(st['dynamodb_ms'])} ms; SQS → Lambda hop {_fmt(st['sqs_hop_ms'])} ms assumed; a room is "
            f"big from {st['big_room']} joins)\n\n"
            + (f"Run on its own: {scale['run']}.\n\n" if scale.get("run") else "") + _table(
                ["subscribers", "shards", "path", "consumer ms", "delivery invocations", "delivery ms (median / max)",
                 "CPU ms per post", "last post ms (from the stream record; median run (each run))",
                 "+ stream poll (250 ms)",
                 "concurrent invocations (counted)", "read units per update (total / max per key)",
                 "write units per update (total / max per key)", "USD per million updates per subscriber",
                 "load (1 min) before, after"], rows))
    costs = one[-1]["cost_per_million_updates_per_subscriber_usd"] if one else {}
    if costs:
        text += (f"\n\nCost split at {one[-1]['subscribers']:,} subscribers (USD per million updates per "
                 "subscriber): " + ", ".join(f"{k} {v:.4f}" for k, v in costs.items()))
    joins = scale.get("joins")
    if joins:
        text += (f"\n\nJoins ({joins['joins']:,} through the real adapter): calls per join "
                 + ", ".join(f"{k} {v}" for k, v in joins["calls_per_join"].items())
                 + f"; write units per join {joins['write_units_per_join']}; at 10 joins/s the busiest key takes "
                 f"{joins['write_units_per_key_at_10_joins_per_s']} write units/s (of 1,000).")
    rate = scale.get("rate", [])
    if rate:
        text += "\n\n" + _table(
            ["updates/s → subscribers", "shards", "updates", "consumer batches", "delivery messages", "posts",
             "connections with every frame once, in order", "posts needed per s",
             "frames/s one connection takes in order", "last post after the last write (modelled)",
             "concurrent invocations (peak, counted)", "load (1 min) before, after"],
            [[f"{r['updates_per_s']} → {r['subscribers']:,}", str(r["shards"]), str(r["updates"]),
              str(r["consumer_batches"]), str(r["delivery_messages"]), f"{r['posts']:,}",
              f"{r['connections_with_every_frame_once_in_order']:,} / {r['connections']:,}",
              f"{r['posts_needed_per_s']:,}", _fmt(r["frames_per_s_one_connection_takes_in_order"]),
              f"{_fmt(r['last_post_after_last_write_s'])} s", str(r["concurrent_invocations_peak"]),
              ", ".join(str(x) for x in r.get("load", []))] for r in rate])
    return text


def limit_section(doc: dict[str, Any]) -> str:
    """Every scenario whose result holds ``figures`` (bench/limits.py's shape): each figure beside the bare
    limit measured in the same run, as a ratio, with Motia's ratio to the same limit when it ran."""
    rows = []
    for name, entry in doc.get("scenarios", {}).items():
        result = entry.get("result") if isinstance(entry, dict) else None
        if not isinstance(result, dict):
            continue
        for f in result.get("figures") or []:
            target = "" if f.get("target") is None else ("≥ " if f.get("better") == "higher" else "≤ ") + _fmt(
                f["target"])
            verdict = {True: "met", False: "**not met**"}.get(f.get("meets"), "")
            rows.append([f["figure"], f"{_fmt(f.get('ours'))} {f.get('unit', '')}",
                         f"{_fmt(f.get('limit'))} {f.get('unit', '')}", _fmt(f.get("ratio")),
                         _fmt(f.get("motia_ratio")),
                         target, verdict, f"`{name}`" + (f"; {f['note']}" if f.get("note") else "")])
    if not rows:
        return ""
    head = ("## Against the machine's limit\n\nEach figure beside the bare thing it is built on, measured in "
            "the same run on the same pinned cores (bench/limits.py); ratio = ours / limit (Motia's over the "
            "same limit).\n\n")
    return head + _table(["figure", "ours", "limit (bare)", "ratio", "Motia's ratio", "target", "", "scenario"],
                         rows) + "\n"


def render_markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    q = doc["quiet"]
    rows = target_rows(doc)
    peer_note = (f"Motia {doc['peer_version']} ran in the same run (`make bench-peer`), each scenario on a freshly "
                 "started server, interleaved with ours." if doc.get("peer") else
                 "Ours only (`make bench`): Motia's column holds the figures of shared/reference/motia-peer.md, marked "
                 "(ref.); `make bench-peer` measures both in one run.")
    warn = ""
    # The suite's own load peaks near 2 during the wrk scenario (wrk's 2 threads and the server), so
    # the peak says nothing about other work; the mean over the whole run does.
    if not q.get("quiet") or doc["load_during_run"]["mean"] >= 1.0:
        warn = ("\n> **The machine was not quiet** (see the load averages): other work shared its 2 cores, so "
                "absolute figures are pessimistic and noisy.\n")
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
        f"{doc['load_during_run']['mean']}); {doc['load_at_end']} at the end.\n{warn}",
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

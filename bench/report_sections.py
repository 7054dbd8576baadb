"""The sections of bench/RESULTS.md after its target table (bench/report.py): "Against the machine's
limit" and the per-scenario details."""

from __future__ import annotations

import statistics
from typing import Any

from report_format import _fmt, _get, _res, _summ, _table, _warmup


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

"""The benchmark suite: every scenario against our ``motia dev`` and, with ``--peer``, against the real
Motia 0.17 dev server in the same run; writes bench/RESULTS.md, bench/results.json and bench/latency.png.

    make bench         # ours only                  (python bench/run.py)
    make bench-peer    # ours and Motia, side by side (python bench/run.py --peer)

Options: ``--quick`` (small sizes, for trying the suite out), ``--only a,b`` / ``--skip a,b`` (scenario
names: startup, memory, api, post, stream, stall, official, micro, coldstart, fanout, soak), ``--out DIR``
(where RESULTS.md, results.json and latency.png go; default bench/), ``--quiet-load 1.0 --quiet-wait 600``
(wait up to that many seconds for the 1-minute load average to drop below that before measuring),
``--soak-seconds N`` (how long the soak's load runs; default 300, 40 with ``--quick``), ``--merge`` (keep
the other scenarios' results of the existing results.json and replace only those run now).

Everything heavy lives in a temporary folder ($BENCH_TMP, default <tmp>/motia-bench), never in the
repository: the WebSocket clients' npm packages, the Motia peer's install (its kit is
shared/peers/motia-0.17), the servers' data, raw samples. See bench/README.md for the method.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

from machine import LoadMonitor, loadavg, machine, stalls, wait_quiet
from scenarios import NEEDS_NODE, QUICK, RUNNERS, SCENARIOS, Run, Sizes
from servers import Ours, Peer, RssSampler, Server
from settings import BENCH, KIT, PEER_VERSION, TMP, log
from toolchain import clients_folder, ensure_apt, peer_folder


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", action="store_true", help="also run every scenario against Motia 0.17")
    parser.add_argument("--quick", action="store_true", help="small sizes: to try the suite, not to quote")
    parser.add_argument("--only", help="comma-separated scenarios to run")
    parser.add_argument("--skip", help="comma-separated scenarios to leave out")
    parser.add_argument("--out", type=Path, default=BENCH, help="where RESULTS.md, results.json, latency.png go")
    parser.add_argument("--quiet-load", type=float, default=float(os.environ.get("BENCH_QUIET_LOAD", "1.0")))
    parser.add_argument("--quiet-wait", type=float, default=float(os.environ.get("BENCH_QUIET_WAIT", "600")))
    parser.add_argument("--soak-seconds", type=float, default=float(os.environ.get("BENCH_SOAK_S", "0")) or None,
                        help="how long the soak's load runs (default 300; 40 with --quick)")
    parser.add_argument("--merge", action="store_true",
                        help="replace only the scenarios run now in the existing results.json, keep the others")
    args = parser.parse_args(argv)

    chosen = [s for s in SCENARIOS if (not args.only or s in args.only.split(","))
              and (not args.skip or s not in args.skip.split(","))]
    sizes = QUICK if args.quick else Sizes()
    if args.soak_seconds:
        sizes = dataclasses.replace(sizes, soak_s=args.soak_seconds,
                                    soak_warmup_s=min(sizes.soak_warmup_s, args.soak_seconds / 2))
    TMP.mkdir(parents=True, exist_ok=True)
    raw = TMP / f"raw-{time.strftime('%Y%m%d-%H%M%S')}"
    raw.mkdir(parents=True)

    ensure_apt({**({"wrk": "wrk"} if {"api", "api_limit"} & set(chosen) else {}),
                **({"redis-server": "redis-server", "redis-cli": "redis-tools"}
                   if args.peer or "redis_hop" in chosen else {})})
    have_node = shutil.which("node") is not None and shutil.which("npm") is not None and KIT.is_dir()
    if not have_node:
        skipped = [s for s in chosen if s in NEEDS_NODE]
        if skipped:
            log(f"node/npm or the peer kit ({KIT}) missing: skipping {', '.join(skipped)}")
        chosen = [s for s in chosen if s not in NEEDS_NODE]
        if args.peer:
            raise SystemExit("bench-peer needs node, npm and the peer kit")
    clients = None
    if have_node and set(chosen) & (NEEDS_NODE | {"api"}):
        try:
            clients = clients_folder()
        except RuntimeError as exc:  # no registry: the Node clients cannot be installed
            if args.peer:
                raise
            log(f"{exc}\nskipping {', '.join(s for s in chosen if s in NEEDS_NODE)}")
            chosen = [s for s in chosen if s not in NEEDS_NODE]

    servers: list[Server] = [Ours()]
    peer: Peer | None = None
    if args.peer:
        peer = Peer(peer_folder())
        peer.start_redis()
        servers.append(peer)

    quiet = wait_quiet(args.quiet_load, args.quiet_wait)
    # What the machine itself does to a task that wants a CPU, before any scenario: the floor under
    # every p99 below (measured quiet, so it is the machine's, not other work's).
    machine_stalls = {**stalls(2.0 if args.quick else 10.0), "date": dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds")}
    monitor = LoadMonitor(other_work=True).start()
    sampler = RssSampler(servers).start()
    started = dt.datetime.now(dt.UTC)
    run = Run(sizes, servers, clients, monitor, raw)
    try:
        for name in chosen:
            run.scenario(name, lambda name=name: RUNNERS[name](run))
    finally:
        sampler.stop()
        monitor.stop()
        for server in servers:
            server.stop()
        if peer is not None:
            peer.close()

    document = {
        "date": started.isoformat(timespec="seconds"), "finished": dt.datetime.now(dt.UTC).isoformat(
            timespec="seconds"), "quick": args.quick, "peer": args.peer, "peer_version": PEER_VERSION,
        "sizes": sizes.__dict__, "machine": machine(), "quiet": quiet, "load_during_run": monitor.stats(),
        "other_work": monitor.other.stats() if monitor.other else None, "load_at_end": loadavg(),
        "stalls": machine_stalls, "peak_rss_during_run": sampler.peak,
        "scenarios": run.results, "raw_dir": str(raw),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / "results.json"
    if args.merge and previous.exists():
        # The earlier run's header (date, machine, load) stays: each merged scenario carries its own
        # date and load in its result.
        kept = json.loads(previous.read_text())
        kept["scenarios"] = {**kept.get("scenarios", {}), **run.results}
        kept.setdefault("stalls", machine_stalls)  # dated: measured with the merged scenarios
        document = kept
    (args.out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
    from chart import render_chart  # bench/chart.py
    from report import render_markdown  # bench/report.py

    try:
        if not args.merge:  # the chart reads the raw samples of this run's stream scenarios only
            render_chart(document, raw, args.out / "latency.png")
    except ImportError as exc:  # matplotlib is the bench extra: pip install -e '.[bench]'
        log(f"no chart: {exc}")
    (args.out / "RESULTS.md").write_text(render_markdown(document))
    log(f"wrote {args.out / 'RESULTS.md'}, results.json and latency.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``motia dev`` in one process under tracemalloc: where its memory goes while a load runs.

    python bench/memtrace.py --root . --port 3111 --data-dir /tmp/mt --at 60,180 --out /tmp/mt/diff.txt

Serves the project as ``motia dev --no-reload`` does, takes a snapshot at each ``--at`` second after
the first 200, and writes the allocations that grew between consecutive snapshots (by traceback,
``--frames`` deep), biggest first. Drive it with ``bench/soak.py --pid <this process>``. tracemalloc
slows every allocation, so its figures say where memory goes, not how fast the server is.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import tracemalloc
from pathlib import Path


def _report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, label: str, top: int) -> str:
    # No filter_traces: it walks every trace in Python, minutes on a loaded server's heap.
    stats = after.compare_to(before, "traceback")
    total = sum(s.size_diff for s in stats)
    lines = [f"== {label}: total {total / 1e6:+.2f} MB"]
    for stat in stats[:top]:
        lines.append(f"{stat.size_diff / 1e6:+8.3f} MB {stat.count_diff:+8d} blocks  (now {stat.size / 1e6:.3f} MB)")
        lines.extend(f"      {frame}" for frame in stat.traceback.format()[-2 * len(stat.traceback):])
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--port", type=int, default=3111)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--at", default="60,180", help="seconds after start at which to snapshot")
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    tracemalloc.start(args.frames)
    os.environ["MOTIA_ROOT"] = str(args.root.resolve())
    os.environ["MOTIA_DATA_DIR"] = str(args.data_dir.resolve())
    import uvicorn

    from motia_runtime.hosts.local.app import LocalHost
    from motia_runtime.hosts.local.settings import DevSettings

    # As motia dev serves: gc.freeze() once started (DevSettings.freeze_gc).
    app = LocalHost.open(DevSettings(**{**vars(DevSettings.from_env()), "freeze_gc": True})).app()
    marks = [float(x) for x in args.at.split(",")]

    def snapshots() -> None:
        start = time.monotonic()
        previous: tuple[str, tracemalloc.Snapshot] | None = None
        for mark in marks:
            time.sleep(max(0.0, start + mark - time.monotonic()))
            snap = tracemalloc.take_snapshot()
            label = f"t={mark:.0f}s"
            if previous is not None:
                with args.out.open("a") as out:
                    out.write(_report(previous[1], snap, f"{previous[0]} -> {label}", args.top))
            previous = (label, snap)
        with args.out.open("a") as out:
            out.write("done\n")

    args.out.write_text(f"tracemalloc, {args.frames} frames; snapshots at {args.at} s\n")
    threading.Thread(target=snapshots, daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning",
                ws="motia_runtime.hosts.local.frames:FrameWriterProtocol", ws_per_message_deflate=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

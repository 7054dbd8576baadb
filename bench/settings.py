"""Where the suite's files, the peer kit and the servers' ports are; the log line every module writes."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
APP = BENCH / "app"
KIT = Path(os.environ.get("MOTIA_PEER_KIT", REPO.parent / "shared" / "peers" / "motia-0.17"))
TMP = Path(os.environ.get("BENCH_TMP", Path(tempfile.gettempdir()) / "motia-bench"))
PEER_VERSION = "0.17.6-beta.187"
OURS_PORT = int(os.environ.get("BENCH_PORT", "3111"))
PEER_PORT = int(os.environ.get("BENCH_PEER_PORT", "3000"))
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6399"))


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

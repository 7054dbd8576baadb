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
KIT_IN_SHARED = Path("shared") / "peers" / "motia-0.17"


def main_worktree(repo: Path) -> Path:
    """The main working tree of ``repo``: itself, or for a linked worktree (``git worktree add``,
    whose ``.git`` is a file naming its git dir) the tree that owns the shared ``.git``. Read from
    the files, so no git is needed."""
    dot_git = repo / ".git"
    if dot_git.is_file():
        text = dot_git.read_text().strip()
        if text.startswith("gitdir:"):
            gitdir = (repo / text.split(":", 1)[1].strip()).resolve()
            commondir = gitdir / "commondir"
            if commondir.is_file():
                return (gitdir / commondir.read_text().strip()).resolve().parent
    return repo


def peer_kit(repo: Path) -> Path:
    """The Motia 0.17 kit beside the repository (``<parent>/shared/peers/motia-0.17``), or beside its
    main worktree when the repository is a linked one elsewhere; the first when neither has it."""
    candidates = [repo.parent / KIT_IN_SHARED, main_worktree(repo).parent / KIT_IN_SHARED]
    return next((c for c in candidates if c.is_dir()), candidates[0])


KIT = Path(os.environ["MOTIA_PEER_KIT"]) if os.environ.get("MOTIA_PEER_KIT") else peer_kit(REPO)
TMP = Path(os.environ.get("BENCH_TMP", Path(tempfile.gettempdir()) / "motia-bench"))
PEER_VERSION = "0.17.6-beta.187"
OURS_PORT = int(os.environ.get("BENCH_PORT", "3111"))
PEER_PORT = int(os.environ.get("BENCH_PEER_PORT", "3000"))
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6399"))


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

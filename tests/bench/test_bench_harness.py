"""The bench harness's own robustness, without a benchmark: the RSS sampler outlives a server stopped
mid-sample, and the peer kit is found beside the main worktree when the repository is a linked
worktree elsewhere. Run in subprocesses with bench/ on the path, as the scripts run (their modules
``settings``, ``servers``... are top-level names)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def _python(code: str, tmp_path: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "OPENAI_", "BENCH_"))}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=BENCH, capture_output=True, text=True,
                         timeout=60, env={**clean, "BENCH_TMP": str(tmp_path / "bench"), **env})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_the_rss_sampler_outlives_a_server_stopped_mid_sample(tmp_path: Path) -> None:
    out = _python("""
        import subprocess, sys, time
        import servers

        ours = servers.Ours()
        ours.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
        real = servers._group_pids
        calls, stopped = [], []

        def stop_meanwhile(pgid):
            # The main thread's stop() lands between the sampler's check of proc and its use (the
            # second read of the group: in main_pid, after its check).
            calls.append(pgid)
            if len(calls) == 2:
                stopped.append(ours.proc)
                ours.proc = None
            return real(pgid)

        servers._group_pids = stop_meanwhile
        sampler = servers.RssSampler([ours]).start()
        time.sleep(0.3)
        ours.proc = stopped[0]  # started again: the next samples must see it
        time.sleep(1.2)
        print(sampler.running, sampler.peak["ours"]["main_kib"] > 0)
        sampler.stop()
        stopped[0].kill()
    """, tmp_path)
    assert out.split() == ["True", "True"], out


def test_the_peer_kit_is_found_beside_the_main_worktree(tmp_path: Path) -> None:
    kit = tmp_path / "shared" / "peers" / "motia-0.17"
    kit.mkdir(parents=True)
    main, linked = tmp_path / "main", tmp_path / "wt" / "helper"
    (main / ".git" / "worktrees" / "helper").mkdir(parents=True)
    (main / ".git" / "worktrees" / "helper" / "commondir").write_text("../..\n")
    linked.mkdir(parents=True)
    (linked / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'helper'}\n")
    out = _python(f"""
        from pathlib import Path
        import settings

        print(settings.main_worktree(Path({str(linked)!r})))
        print(settings.peer_kit(Path({str(linked)!r})))
        print(settings.peer_kit(Path({str(main)!r})))
        print(settings.peer_kit(Path({str(tmp_path / "a" / "b" / "repo")!r})))  # no kit anywhere
    """, tmp_path)
    fallback = tmp_path / "a" / "b" / "shared" / "peers" / "motia-0.17"
    assert out.splitlines() == [str(main), str(kit), str(kit), str(fallback)]
    forced = _python("import settings; print(settings.KIT)", tmp_path, MOTIA_PEER_KIT=str(tmp_path / "mine"))
    assert forced.strip() == str(tmp_path / "mine")

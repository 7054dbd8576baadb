"""``motia dev`` restarts when a step or stream file changes."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import httpx

from tests.support.dev_server import DevServer

STEP = """
config = {"type": "api", "name": "Hello", "path": "/hello", "method": "GET"}
async def handler(req, ctx):
    return {"status": 200, "body": {"says": "%s"}}
"""


def _says(server: DevServer) -> str | None:
    try:
        return httpx.get(f"{server.url}/hello", timeout=1).json().get("says")
    except (httpx.TransportError, ValueError):
        return None


def _wait_says(server: DevServer, text: str, timeout_s: float = 20) -> str | None:
    """Poll the step (never touching the file) until it says ``text`` or the time is up."""
    deadline = time.time() + timeout_s
    while (said := _says(server)) != text and time.time() < deadline:
        time.sleep(0.1)
    return said


def _worker_of(pid: int, timeout_s: float = 20) -> int:
    """The pid of the worker uvicorn's supervisor ``pid`` spawned (multiprocessing's spawn_main)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid and b"spawn_main" in cmdline:
                return int(entry.name)
        time.sleep(0.005)
    raise AssertionError(f"motia dev ({pid}) spawned no worker within {timeout_s}s")


def test_editing_a_step_reloads_it(tmp_path: Path) -> None:
    # One save, made as soon as the server answers, and never repeated: it must be picked up.
    root = tmp_path / "app"
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "hello_step.py").write_text(STEP % "first")
    server = DevServer(root, tmp_path / "data", reload=True).start()
    try:
        assert _says(server) == "first"
        (root / "functions" / "hello_step.py").write_text(STEP % "second")
        assert _wait_says(server, "second") == "second", server.logs()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_save_before_the_supervisor_runs_again_is_picked_up(tmp_path: Path) -> None:
    # The supervisor is frozen (SIGSTOP) from the moment it has spawned the worker until after the
    # save, as a busy machine may leave it unscheduled. A supervisor that starts watching only
    # after spawning the worker (uvicorn's, a reload_delay later) never sees that save.
    root = tmp_path / "app"
    (root / "functions").mkdir(parents=True)
    step = root / "functions" / "hello_step.py"
    step.write_text(STEP % "first")
    server = DevServer(root, tmp_path / "data", reload=True).spawn()
    assert server.proc is not None
    frozen = False
    try:
        _worker_of(server.proc.pid)
        os.kill(server.proc.pid, signal.SIGSTOP)
        frozen = True
        assert _wait_says(server, "first") == "first", server.logs()
        step.write_text(STEP % "second")
        time.sleep(0.3)  # let the save settle while the supervisor is still frozen
        os.kill(server.proc.pid, signal.SIGCONT)
        frozen = False
        assert _wait_says(server, "second") == "second", server.logs()
    finally:
        if frozen:
            os.kill(server.proc.pid, signal.SIGCONT)
        server.stop()


def test_a_broken_step_is_reported_and_the_fix_is_picked_up(tmp_path: Path) -> None:
    # With reload on, the worker reports the config error (file and field, no traceback) and the
    # command keeps watching: saving the fixed file brings the server up.
    root = tmp_path / "app"
    (root / "functions").mkdir(parents=True)
    step = root / "functions" / "hello_step.py"
    step.write_text(STEP.replace('"GET"', '"FETCH"') % "fixed")
    server = DevServer(root, tmp_path / "data", reload=True).spawn()
    try:
        deadline = time.time() + 20
        while "waiting for a file to change" not in server.logs() and time.time() < deadline:
            time.sleep(0.1)
        assert "hello_step.py" in server.logs() and "method" in server.logs(), server.logs()
        assert "Traceback" not in server.logs()
        assert server.proc.poll() is None, "motia dev ended instead of waiting for the fix"
        # uvicorn's supervisor starts watching a reload_delay after it spawns the worker, which on a
        # fast machine has failed by then: a save before that is not seen, so save again, as a
        # user would, every 2 s until the server answers.
        deadline = time.time() + 20
        saved_at = 0.0
        while _says(server) != "fixed" and time.time() < deadline:
            if time.time() - saved_at > 2:
                step.write_text(STEP % "fixed")
                saved_at = time.time()
            time.sleep(0.1)
        assert _says(server) == "fixed", server.logs()
    finally:
        server.stop()

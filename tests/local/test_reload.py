"""``motia dev`` restarts when a step or stream file changes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import websockets

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


def test_a_broken_step_is_served_as_its_error_until_the_fix_is_saved(tmp_path: Path) -> None:
    # With reload on, the worker reports the config error (file, line and field, no traceback) and
    # answers with it, at once: every HTTP request gets a 503 naming them, the Workbench feed sends
    # it for the page's banner, a stream join gets an error event. One save of the fix brings the
    # steps back: it is saved once, never repeated.
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
        assert server.proc is not None and server.proc.poll() is None, "motia dev ended instead of waiting for the fix"

        expected = {"file": "functions/hello_step.py", "line": 2, "field": "method"}
        for method, path in [("GET", "/hello"), ("GET", "/__motia/health"), ("POST", "/anything"),
                             ("GET", "/__motia/steps"), ("DELETE", "/__motia/state/g/k")]:
            response = _wait_answer(server, method, path)
            assert response.status_code == 503, (method, path, response.text)
            body = response.json()
            assert {k: body[k] for k in expected} == expected, body
            assert "FETCH" in body["error"] or "method" in body["error"]
        page = httpx.get(f"{server.url}/__motia/", timeout=2)
        assert page.status_code == 200 and "Workbench" in page.text
        assert httpx.get(f"{server.url}/__motia/static/js/main.js", timeout=2).status_code == 200
        # The error names the project's files: it is behind the same trust boundary as the app.
        rebound = httpx.get(f"{server.url}/__motia/health", headers={"Host": "evil.example:3000"}, timeout=2)
        assert rebound.status_code == 403 and "file" not in rebound.json()
        asyncio.run(_sockets_refuse(server, expected))

        step.write_text(STEP % "fixed")
        assert _wait_says(server, "fixed") == "fixed", server.logs()
    finally:
        server.stop()


def _wait_answer(server: DevServer, method: str, path: str) -> httpx.Response:
    # The worker may still be starting (connection refused, or accepted by the supervisor's socket
    # and not yet answered): each try has a short timeout, and the answer, once there, is immediate.
    deadline = time.time() + 20
    while True:
        try:
            return httpx.request(method, f"{server.url}{path}", timeout=2)
        except httpx.TransportError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


async def _sockets_refuse(server: DevServer, expected: dict[str, object]) -> None:
    async with websockets.connect(f"{server.ws_url}/__motia/ws") as feed:
        frame = json.loads(await asyncio.wait_for(feed.recv(), 5))
        assert frame["type"] == "project-error"
        assert {k: frame["data"][k] for k in expected} == expected
    # Offered a token as Motia's clients send it, the socket echoes the subprotocol (browsers need it).
    async with websockets.connect(server.ws_url, subprotocols=["Authorization", "a-token"]) as conn:  # type: ignore[list-item]
        assert conn.subprotocol == "Authorization"
        for group in ("a", "b"):  # the connection stays up: every join is answered
            await conn.send(json.dumps({"type": "join", "data": {"streamName": "todo", "groupId": group,
                                                                 "subscriptionId": f"s-{group}"}}))
            frame = json.loads(await asyncio.wait_for(conn.recv(), 5))
            assert frame["groupId"] == group and frame["event"]["type"] == "event"
            error = frame["event"]["event"]
            assert error["type"] == "error" and error["data"]["code"] == "PROJECT_NOT_LOADED"
            assert "functions/hello_step.py:2" in error["data"]["message"]

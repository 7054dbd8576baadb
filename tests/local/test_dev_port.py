"""``motia dev`` on a port another server holds: one line naming it and what to do, before the
project loads or the banner prints (cli/main.py ``_listenable``)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_openai import free_port

PING = '''config = {"type": "api", "name": "Ping", "path": "/ping", "method": "GET", "emits": [], "flows": ["t"]}


async def handler(req, ctx):
    return {"status": 200, "body": {"ok": True}}
'''


@pytest.mark.parametrize("reload", [False, True])
def test_a_port_in_use_is_one_line_and_no_banner(tmp_path: Path, reload: bool) -> None:
    (tmp_path / "app" / "functions").mkdir(parents=True)
    (tmp_path / "app" / "functions" / "ping_step.py").write_text(PING)
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = subprocess.run([sys.executable, "-m", "motia_runtime", "dev", "--root", str(tmp_path / "app"),
                               "--port", str(port), "--data-dir", str(tmp_path / "data"),
                               *(() if reload else ("--no-reload",))],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"motia: cannot listen on 127.0.0.1:{port}: Address already in use (another server is on it: "
                     "stop it, or pass --port)"], done.stderr

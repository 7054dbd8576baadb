"""``motia dev --log-level``: uvicorn's access lines are written at info and below, and at the default
(warning) uvicorn is started without an access log at all, so no response pays a logger call for a
line that would be dropped (cli/main.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.dev_server import DevServer

pytestmark = pytest.mark.slow

PING = '''config = {"type": "api", "name": "Ping", "path": "/ping", "method": "GET", "emits": [], "flows": ["t"]}


async def handler(req, ctx):
    return {"status": 200, "body": {"ok": True}}
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "app" / "functions").mkdir(parents=True)
    (tmp_path / "app" / "functions" / "ping_step.py").write_text(PING)
    return tmp_path / "app"


@pytest.mark.parametrize(("args", "logged"), [((), False), (("--log-level", "warning"), False),
                                              (("--log-level", "info"), True), (("--log-level", "DEBUG"), True)])
def test_access_lines_follow_the_log_level(root: Path, tmp_path: Path, args: tuple[str, ...], logged: bool) -> None:
    server = DevServer(root, tmp_path / "data", args=args).start()
    try:
        assert httpx.get(f"{server.url}/ping?probe=access-log").json() == {"ok": True}
    finally:
        server.stop()
    assert ('"GET /ping?probe=access-log HTTP/1.1" 200' in server.logs()) is logged

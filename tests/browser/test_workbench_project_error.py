"""The Workbench in headless Chromium while a step fails to load: a banner names the error, and
goes away by itself when the fix is saved (``motia dev`` with reload, as a developer runs it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.dev_server import DevServer

pytestmark = pytest.mark.slow

STEP = """
config = {"type": "api", "name": "Hello", "path": "/hello",
          "method": "%s"}
async def handler(req, ctx):
    return {"status": 200, "body": {}}
"""


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[tuple[DevServer, Path]]:
    root = tmp_path / "app"
    (root / "functions").mkdir(parents=True)
    step = root / "functions" / "hello_step.py"
    step.write_text(STEP % "FETCH")
    server = DevServer(root, tmp_path / "data", reload=True).spawn()
    try:
        deadline = time.time() + 20
        while "waiting for a file to change" not in server.logs():
            assert time.time() < deadline, server.logs()
            time.sleep(0.1)
        yield server, step
    finally:
        server.stop()


def test_the_workbench_shows_a_load_error_until_the_fix_is_saved(broken: tuple[DevServer, Path], page: Any,
                                                                  screenshot: Any) -> None:
    server, step = broken
    page.goto(f"{server.url}/__motia/")
    banner = page.locator("#project-error")
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner).to_contain_text("The project failed to load")
    expect(banner).to_contain_text("functions/hello_step.py:3")
    expect(banner).to_contain_text("method")
    screenshot(page, "workbench-project-error")

    step.write_text(STEP % "GET")
    expect(banner).to_be_hidden(timeout=30_000)
    expect(page.locator("#live")).to_contain_text("Live")

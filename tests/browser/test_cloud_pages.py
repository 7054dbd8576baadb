"""Motia's official browser clients, unchanged, against ``motia cloud`` in headless Chromium: the
pages talk to what would run on AWS (the WebSocket API, the WebSocket and fan-out functions, the
DynamoDB stream), not to ``motia dev``.

The built pages (clients/web/dist) are served from their own origin; ``?ws=`` points Motia's
stream client at the cloud's WebSocket API and ``?api=`` the page's requests at its HTTP API,
which lets that origin in through the template's CORS parameter, as a deployment would.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.browser.conftest import _unavailable
from tests.client.project import GOOD_TOKEN
from tests.cloud.test_cloud_clients import generated_project
from tests.support.cloud_server import CloudServer
from tests.support.dev_server import REPO

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's ``playwright`` fixture skips (or fails in CI) with the reason
    expect = None

DIST = REPO / "clients" / "web" / "dist"


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    """The built pages on a loopback origin of their own."""
    if not (DIST / "demo.js").is_file():
        _unavailable("clients/web/dist is not built (make web: needs node and npm)")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(DIST)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def shelter(pages: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = CloudServer(REPO, tmp_path_factory.mktemp("shelter-cloud"), args=[
        "--parameter", f"CorsAllowOrigin={pages}", "--env", "PET_STAGE_DELAY_MS=150",
        "--env", "PET_FIELD_DELAY_MS=50"]).start()
    yield server
    server.stop()


def test_demo_page_follows_a_pet_to_completion_through_motia_cloud(pages: str, shelter: CloudServer,
                                                                    page: Any) -> None:
    page.goto(f"{pages}/index.html?ws={shelter.ws_url}&api={shelter.http_url}")
    page.fill("input[name=name]", "Buddy")
    page.select_option("select[name=species]", "dog")
    page.fill("input[name=ageMonths]", "14")
    page.click("button[type=submit]")
    expect(page.locator("#progress h2")).to_contain_text("Buddy", timeout=30_000)
    expect(page.locator("#journey-message")).to_have_text("Buddy is healthy and ready for adoption! ✅",
                                                          timeout=60_000)
    for stage in ("health_check", "enrichment_started", "progress_bio", "completed", "ai_overall"):
        expect(page.locator(f"[data-stage={stage}]")).to_have_attribute("data-progress", "100", timeout=30_000)
    timeline = page.locator("#timeline li[data-item=message]")
    expect(timeline).to_have_count(4)
    assert timeline.all_text_contents()[1:] == [
        "Pet Buddy entered quarantine period", "Health check passed for Buddy - no symptoms found",
        "Buddy is healthy and ready for adoption! ✅"]
    expect(page.locator("#statuses li[data-status=available]")).to_be_visible(timeout=30_000)
    assert page.problems == []  # no CORS refusal, no socket error


def test_the_http_api_lets_only_the_configured_origin_in(pages: str, shelter: CloudServer) -> None:
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    allowed = httpx.options(f"{shelter.http_url}/pets", headers={"origin": pages, **preflight}, timeout=10)
    assert allowed.status_code == 204 and allowed.headers["access-control-allow-origin"] == pages
    other = httpx.options(f"{shelter.http_url}/pets", headers={"origin": "http://evil.example", **preflight},
                          timeout=10)
    assert "access-control-allow-origin" not in other.headers


@pytest.fixture(scope="module")
def todo_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    root = generated_project(tmp_path_factory.mktemp("hooks-cloud"))
    server = CloudServer(root, root / ".logs").start()
    yield server
    server.stop()


def test_official_hooks_with_a_token_and_a_refused_join_behave_as_locally(pages: str, todo_cloud: CloudServer,
                                                                          page: Any) -> None:
    group = f"private-{uuid.uuid4().hex[:8]}"
    httpx.post(f"{todo_cloud.http_url}/ops", timeout=60, json={"ops": [
        {"op": "set", "group": group, "id": "a", "data": {"text": "secret"}}]}).raise_for_status()
    query = f"stream=todo&group={group}&id=a&event=ping"
    page.goto(f"{pages}/inspector.html?{query}&token={GOOD_TOKEN}&ws={todo_cloud.ws_url}")
    expect(page.locator("#group li[data-id=a]")).to_contain_text("secret", timeout=30_000)
    expect(page.locator("#item")).to_contain_text("secret")
    httpx.post(f"{todo_cloud.http_url}/ops", timeout=60, json={"ops": [
        {"op": "send", "group": group, "type": "ping", "data": {"n": 1}}]}).raise_for_status()
    expect(page.locator("#group-events li")).to_have_text(['{"n":1}'], timeout=30_000)
    assert page.problems == []

    # Without the token the same joins are refused with Motia's error frames, the socket kept.
    other = page.context.new_page()
    frames: list[str] = []
    other.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    other.goto(f"{pages}/inspector.html?{query}&ws={todo_cloud.ws_url}")
    deadline = time.monotonic() + 30
    while sum("STREAM_ACCESS_DENIED" in f for f in frames) < 2 and time.monotonic() < deadline:
        other.wait_for_timeout(100)
    assert sum("STREAM_ACCESS_DENIED" in f for f in frames) == 2
    expect(other.locator("#group li")).to_have_count(0)

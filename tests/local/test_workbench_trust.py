"""The Workbench's trust boundary on a real ``motia dev``, over real sockets (docs/auth.md):
``/__motia/`` answers only the server's own page (no CORS, exact Origin), and every request and
socket must name a host the server answers to (DNS rebinding)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.inprocess import InProcessServer
from tests.support.ws import StreamSocket

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "guard_app"
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    # An extra name by flag, another by the environment: both are added to the loopback names.
    dev = InProcessServer(APP, tmp_path_factory.mktemp("trust-data"), env={"MOTIA_ALLOWED_HOSTS": "box.test"},
                    args=("--allowed-host", "dev.test")).start()
    yield dev
    dev.stop()


@pytest.fixture
def http(server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


async def _ws(server: InProcessServer, path: str, host: str | None = None,
              origin: str | None = None) -> websockets.ClientConnection:
    """A WebSocket to the server on loopback, sending ``Host: host`` (the name a rebinding page has)."""
    uri = f"ws://{host or f'127.0.0.1:{server.port}'}{path}"
    return await websockets.connect(uri, host="127.0.0.1", port=server.port, proxy=None, origin=origin,
                                    open_timeout=5)


def _refused(response: httpx.Response, *words: str) -> bool:
    return response.status_code == 403 and all(w in response.json()["error"] for w in words)


def test_workbench_answers_carry_no_cors_headers_and_refuse_other_origins(http: httpx.Client) -> None:
    token = http.post("/__motia/stream-token", json={"streamName": "vault", "groupId": "g"})
    assert token.status_code == 200  # no Origin (curl, scripts): allowed
    for path in ("/__motia/streams/vault/groups/g", "/__motia/state?group=g", "/__motia/logs", "/__motia/streams"):
        plain = http.get(path)
        assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers, path
        # Another page's fetch: refused, and nothing in the answer lets the browser show it.
        foreign = http.get(path, headers={"origin": EVIL})
        assert _refused(foreign, EVIL) and "access-control-allow-origin" not in foreign.headers, path
    preflight = http.options("/__motia/state/g/k", headers={"origin": EVIL, "access-control-request-method": "PUT"})
    assert "access-control-allow-origin" not in preflight.headers and preflight.status_code == 403
    # The app's own API keeps its CORS (MOTIA_CORS_ORIGINS, default *).
    api = http.post("/echo", json={"a": 1}, headers={"origin": EVIL})
    assert api.status_code == 200 and api.headers["access-control-allow-origin"] == "*"


def test_the_origin_must_match_scheme_host_and_port(http: httpx.Client, server: InProcessServer) -> None:
    body = {"streamName": "vault", "groupId": "g"}
    for origin in (f"evil://127.0.0.1:{server.port}", f"https://127.0.0.1:{server.port}",
                   f"http://127.0.0.1:{server.port + 1}", "http://127.0.0.1", f"http://localhost:{server.port}",
                   "null"):
        assert _refused(http.post("/__motia/stream-token", json=body, headers={"origin": origin}), origin), origin
        assert _refused(http.put("/__motia/state/g/k", json=1, headers={"origin": origin})), origin
    assert http.get("/__motia/state", params={"group": "g"}).json()["items"] == []
    own = http.post("/__motia/stream-token", json=body, headers={"origin": server.url})
    assert own.status_code == 200 and own.json()["token"]
    # The page opened as http://localhost:<port> is that origin, and is served too.
    local = http.post("/__motia/stream-token", json=body,
                      headers={"host": f"localhost:{server.port}", "origin": f"http://localhost:{server.port}"})
    assert local.status_code == 200


def test_a_rebinding_page_is_refused_everywhere(http: httpx.Client, server: InProcessServer) -> None:
    """A page on evil.example whose name now resolves to 127.0.0.1: Host and Origin are both its own."""
    host = f"evil.example:{server.port}"
    rebound = {"host": host, "origin": f"http://{host}"}
    calls = [("POST", "/__motia/stream-token", {"streamName": "vault", "groupId": "g"}),
             ("PUT", "/__motia/state/g/k", {"x": 1}), ("DELETE", "/__motia/state/g/k", None),
             ("POST", "/__motia/cron/Tick/run", None), ("POST", "/__motia/queues/dead-letters/1/retry", None),
             ("DELETE", "/__motia/queues/dead-letters/1", None), ("GET", "/__motia/state?group=g", None),
             ("GET", "/__motia/streams/vault/groups/g", None), ("GET", "/__motia/", None), ("GET", "/", None),
             ("POST", "/echo", {"a": 1}), ("GET", "/read/g", None)]
    for method, path, body in calls:
        response = http.request(method, path, json=body, headers=rebound)
        assert _refused(response, repr(host), "--allowed-host"), (method, path)
        # Without an Origin (a rebinding page's navigation, or a plain request) it is the same.
        assert _refused(http.request(method, path, json=body, headers={"host": host})), (method, path)
    assert http.get("/__motia/cron").status_code == 200
    assert http.get("/__motia/traces", params={"step": "Tick"}).json()["traces"] == []  # the cron never ran
    assert http.get("/__motia/state", params={"group": "g"}).json()["items"] == []

    async def sockets() -> None:
        for path in ("/", "/__motia/ws"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await _ws(server, path, host=host, origin=f"http://{host}")
            assert refused.value.response.status_code == 403
            assert "does not answer to the host" in json.loads(refused.value.response.body)["error"]

    asyncio.run(sockets())


def test_the_names_the_server_answers_to(http: httpx.Client, server: InProcessServer) -> None:
    for name in ("localhost", "127.0.0.1", "[::1]", "LOCALHOST", "dev.test", "box.test"):
        host = f"{name}:{server.port}"
        response = http.put("/__motia/state/names/k", json=name, headers={"host": host, "origin": f"http://{host}"})
        assert response.status_code == 200, name
    for name in ("evil.example", "dev.test.evil.example", "127.0.0.2", "localhost.", ""):
        assert _refused(http.get("/__motia/health", headers={"host": f"{name}:{server.port}"})), name


def test_the_workbench_feed_answers_only_its_own_page(http: httpx.Client, server: InProcessServer) -> None:
    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await _ws(server, "/__motia/ws", origin=EVIL)
        assert refused.value.response.status_code == 403
        assert EVIL in json.loads(refused.value.response.body)["error"]
        own = await _ws(server, "/__motia/ws", origin=server.url)
        scripted = await _ws(server, "/__motia/ws")  # no Origin: not a browser
        try:
            await asyncio.to_thread(http.put, "/__motia/state/feed/k", json=1)
            for feed in (own, scripted):
                frame = json.loads(await asyncio.wait_for(feed.recv(), 5))
                assert frame == {"type": "state", "data": {"op": "set", "group": "feed", "key": "k"}}
        finally:
            await own.close()
            await scripted.close()

    asyncio.run(scenario())


def test_app_clients_on_other_origins_still_use_the_stream_socket(server: InProcessServer) -> None:
    async def scenario() -> None:
        client = StreamSocket(await _ws(server, "/", origin="http://localhost:5173"))
        try:
            await client.join("board", "g")
            frame = await client.recv()
            assert frame["event"] == {"type": "sync", "data": []}
        finally:
            await client.close()

    asyncio.run(scenario())


def test_the_workbench_page_cannot_be_framed(http: httpx.Client) -> None:
    for path in ("/", "/__motia/"):
        page = http.get(path)
        assert page.status_code == 200 and page.headers["x-frame-options"] == "DENY"
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'"

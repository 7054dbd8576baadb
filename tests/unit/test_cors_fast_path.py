"""The trust boundary's CORS: a request without an Origin skips Starlette's CORS middleware
(issue 22: it wrapped every send) but its answer carries the same headers, Vary included; a
request with one still goes through Starlette's, preflights too."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from motia_runtime.hosts.local.trust import TrustBoundary


async def plain(_: Request) -> Response:
    return PlainTextResponse("ok")


async def varied(_: Request) -> Response:
    response = PlainTextResponse("ok", headers={"Vary": "Accept-Encoding"})
    response.raw_headers.append((b"vary", b"Accept-Language"))  # two Vary lines
    return response


ROUTES = [Route("/plain", plain), Route("/varied", varied, methods=["GET", "POST"])]


@pytest.fixture
def ours() -> TestClient:
    app = Starlette(routes=ROUTES, middleware=[Middleware(TrustBoundary, hosts=None, cors_origins=["*"])])  # as app.py
    return TestClient(app, base_url="http://127.0.0.1:3111")


@pytest.fixture
def starlettes() -> TestClient:
    app = Starlette(routes=ROUTES, middleware=[Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"],
                                                          allow_headers=["*"], max_age=600)])
    return TestClient(app, base_url="http://127.0.0.1:3111")


@pytest.mark.parametrize("path", ["/plain", "/varied"])
@pytest.mark.parametrize("origin", [None, "http://localhost:5173"])
def test_the_answer_carries_what_starlettes_cors_would_add(ours: TestClient, starlettes: TestClient,
                                                            path: str, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    a, b = ours.get(path, headers=headers), starlettes.get(path, headers=headers)
    assert a.status_code == b.status_code == 200
    assert a.headers.multi_items() == b.headers.multi_items()
    assert a.headers["vary"] == ("Origin" if path == "/plain" else "Accept-Encoding, Accept-Language, Origin")
    assert ("access-control-allow-origin" in a.headers) == (origin is not None)


def test_a_preflight_still_gets_starlettes_answer(ours: TestClient, starlettes: TestClient) -> None:
    headers = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}
    a, b = ours.options("/varied", headers=headers), starlettes.options("/varied", headers=headers)
    assert a.status_code == b.status_code == 200
    assert a.headers.multi_items() == b.headers.multi_items()
    assert a.headers["access-control-allow-origin"] == "*"

"""hosts/local/routing.py: the dictionary in front of Starlette's router sends every request where
Starlette's own loop would (first full match in order, 405 for a known path with another method,
parameters and WebSockets through the loop)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, Router
from starlette.testclient import TestClient

from motia_runtime.hosts.local.routing import StaticFirstRouter


def _answer(text: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{text} {dict(request.path_params)} {request.scope['route'].path}")

    return endpoint


ROUTES = [
    Route("/items/{name}", _answer("param")),  # matches /items/special first: it must still win
    Route("/items/special", _answer("static-shadowed")),
    Route("/ping", _answer("ping-post"), methods=["POST"]),
    Route("/ping", _answer("ping-get"), methods=["GET"]),
    Mount("/m", routes=[Route("/x", _answer("mounted"))]),
    Route("/m/x", _answer("static-after-mount")),
    Route("/only-get", _answer("only-get"), methods=["GET"]),
]
REQUESTS = [("GET", "/items/special"), ("GET", "/items/other"), ("GET", "/ping"), ("POST", "/ping"),
            ("HEAD", "/ping"), ("PUT", "/ping"), ("GET", "/m/x"), ("POST", "/only-get"), ("GET", "/only-get"),
            ("GET", "/nowhere"), ("GET", "/ping/")]


def _answers(app: Starlette) -> list[tuple[int, str]]:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        return [(r.status_code, r.text) for r in (client.request(m, p, follow_redirects=False) for m, p in REQUESTS)]


def test_static_lookup_answers_as_starlettes_loop() -> None:
    plain = Starlette(routes=ROUTES)
    fast = Starlette(routes=ROUTES)
    fast.router = StaticFirstRouter.replacing(fast.router)
    assert isinstance(fast.router, StaticFirstRouter)
    assert _answers(fast) == _answers(plain)
    # Only the static routes that are the first full match of their path and method are looked up.
    table = {(path, method): route.endpoint for (path, method), route in fast.router._static.items()}
    assert ("/ping", "GET") in table and ("/ping", "POST") in table and ("/only-get", "GET") in table
    assert ("/items/special", "GET") not in table and ("/m/x", "GET") not in table


def test_a_router_with_its_own_middleware_is_left_as_it_is() -> None:
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware

    router = Router(routes=ROUTES, middleware=[Middleware(GZipMiddleware)])
    assert StaticFirstRouter.replacing(router) is router

"""The browser demo at ``/demo/``: the built pages of ``clients/web`` (``clients/web/dist``), and
the static files class it and the Workbench serve their assets with.

The page is built from npm sources (``make web``: ``npm ci && npm run build``), not committed,
so a project without Node still runs; then ``/demo/`` says how to build it instead of a 404.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DEMO_PATH = "/demo"
WEB_DIR = Path("clients") / "web"


class RevalidatedFiles(StaticFiles):
    """Static files that browsers re-check on each load, so a rebuild shows up on reload."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def demo_routes(root: Path) -> list[BaseRoute]:
    """Routes for ``/demo/`` when the project has ``clients/web``; none otherwise."""
    web = root / WEB_DIR
    dist = web / "dist"
    if (dist / "index.html").is_file():
        return [Mount(DEMO_PATH, RevalidatedFiles(directory=dist, html=True), name="demo")]
    if not web.is_dir():
        return []

    async def not_built(_: Request) -> Response:
        return PlainTextResponse(
            f"The demo page is not built: run `make web` (npm ci && npm run build in {WEB_DIR}; needs Node 20+), "
            "then reload.\n",
            status_code=503,
        )

    return [Route(DEMO_PATH, not_built), Route(DEMO_PATH + "/{path:path}", not_built)]

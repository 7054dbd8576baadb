"""The Workbench: a dependency-free web page (hand-written HTML, CSS and ES modules in
``static/``) served by ``motia dev``, on top of the JSON API in ``admin.py`` and the live feed.

It is served at ``/__motia/`` always, and at ``/`` unless an API step owns ``GET /``. Assets are
package data, so ``pip install`` ships them and no build step or CDN is involved.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from ....config import ApiRouteConfig
from ..static_files import RevalidatedFiles
from .feed import WorkbenchFeed

if TYPE_CHECKING:
    from ....project import Project

STATIC_DIR = Path(__file__).parent / "static"
INDEX = STATIC_DIR / "index.html"

# The page is edited while ``motia dev`` runs (and upgraded with the package): always revalidate,
# so a reload never mixes a new index.html with stale modules.
NO_CACHE = {"Cache-Control": "no-cache"}
# The page's buttons change state and drop events: no other site may frame it (clickjacking).
NO_FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}

__all__ = ["WorkbenchFeed", "owns_root", "workbench_routes"]


def owns_root(project: Project) -> bool:
    """Whether an API step serves ``GET /`` (then the Workbench stays at ``/__motia/`` only)."""
    return any(isinstance(s.config, ApiRouteConfig) and s.config.method == "GET" and s.config.path.rstrip("/") == ""
               for s in project.api_steps)


def workbench_routes(project: Project, feed: WorkbenchFeed) -> list[BaseRoute]:
    async def index(_: Request) -> Response:
        return FileResponse(INDEX, headers=NO_CACHE | NO_FRAMING, media_type="text/html")

    async def to_index(_: Request) -> Response:
        return RedirectResponse("/__motia/")

    routes: list[BaseRoute] = [
        Route("/__motia", to_index),
        Route("/__motia/", index),
        Mount("/__motia/static", RevalidatedFiles(directory=STATIC_DIR), name="workbench-static"),
        WebSocketRoute("/__motia/ws", feed.serve),
    ]
    if not owns_root(project):
        routes.append(Route("/", index))
    return routes

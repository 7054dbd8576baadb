"""Composition of the local host: one Starlette app serving API steps, the stream WebSocket and
the ``/__motia`` API, with the event bus workers and the cron scheduler running beside it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute

from ...adapters.sqlite import Database, SQLiteQueueStore, SQLiteStateStore, SQLiteStreamStore
from ...project import load_project
from ...runtime import Runtime
from .admin import admin_routes
from .bus import LocalEventBus
from .http import api_routes
from .hub import Hub
from .scheduler import CronScheduler
from .websocket import StreamSocket

ENV_ROOT = "MOTIA_ROOT"
ENV_DATA_DIR = "MOTIA_DATA_DIR"


@dataclass(frozen=True)
class DevSettings:
    root: Path
    data_dir: Path

    @classmethod
    def from_env(cls) -> DevSettings:
        root = Path(os.environ.get(ENV_ROOT, ".")).resolve()
        return cls(root, Path(os.environ.get(ENV_DATA_DIR, root / ".motia")).resolve())


class LocalHost:
    """Everything ``motia dev`` runs in its one process."""

    def __init__(self, settings: DevSettings) -> None:
        self.settings = settings
        project = load_project(settings.root)
        self.db = Database(settings.data_dir / "motia.db")
        self.queue_store = SQLiteQueueStore(self.db)
        self.bus = LocalEventBus(self.queue_store)
        self.hub = Hub()
        self.runtime = Runtime(
            project, state=SQLiteStateStore(self.db), streams=SQLiteStreamStore(self.db), bus=self.bus
        )
        for store in self.runtime.stream_stores:
            store.add_listener(self.hub.on_change)
        self.scheduler = CronScheduler(self.runtime)
        for warning in project.warnings:
            self.runtime.logger().warning(warning)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        self.bus.start(self.runtime)
        self.scheduler.start()
        try:
            yield
        finally:
            await self.scheduler.stop()
            await self.runtime.aclose()
            self.db.close()

    def app(self) -> Starlette:
        socket = StreamSocket(self.runtime, self.hub).serve
        routes = [
            *admin_routes(self),
            *api_routes(self.runtime),
            # Motia's clients connect to the bare address; any path is accepted, as Motia does.
            WebSocketRoute("/", socket),
            WebSocketRoute("/{path:path}", socket),
        ]
        app = Starlette(
            routes=routes,
            lifespan=self.lifespan,
            exception_handlers={HTTPException: _http_error},
            middleware=[Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"],
                                   max_age=600)],
        )
        app.state.host = self
        return app


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def create_app(settings: DevSettings | None = None) -> Starlette:
    """The app factory uvicorn calls (also after each reload)."""
    return LocalHost(settings or DevSettings.from_env()).app()

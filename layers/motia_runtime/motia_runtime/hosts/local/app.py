"""Composition of the local host: one Starlette app serving API steps, the stream WebSocket, the
``/__motia`` API and the Workbench page, with the event bus workers and the cron scheduler
running beside it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

from ...adapters.sqlite import Database, SQLiteQueueStore, SQLiteStateStore, SQLiteStreamStore
from ...auth import ENV_SECRET
from ...errors import ConfigError
from ...project import Project, load_project
from ...runtime import Runtime
from ...tools.typegen import refresh as refresh_types
from .admin import AdminApi
from .analytics import StreamAnalytics
from .api_front import LocalApp
from .body_limit import BodyLimit
from .broken import broken_project_app
from .bus import LocalEventBus
from .http import api_routes, openapi_route
from .hub import Hub
from .log_redaction import install_log_redaction
from .replay import EventLog
from .routing import StaticFirstRouter
from .scheduler import CronScheduler
from .settings import DevSettings
from .sse import StreamEvents
from .static_files import demo_routes
from .stream_secret import ensure_stream_secret
from .traces import TraceRecorder
from .trust import HostAllowList, TrustBoundary
from .websocket import StreamSocket
from .workbench import WorkbenchFeed, workbench_routes

if TYPE_CHECKING:
    from ...adapters.redis import RedisBackend

# Close code for "changes may have been missed, rejoin": clients reconnect and get a fresh sync.
RESYNC_CLOSE = (1012, "stream storage reconnected: rejoin to resync")


class LocalHost:
    """Everything ``motia dev`` runs in its one process, built from its settings and adapters.

    Building one has no effect outside it: the process-wide side effects (the stream secret in
    the environment, the log filter, ``gc.freeze``) happen in the app's lifespan, which also
    closes the database. :meth:`open` loads the project and opens the adapters the settings name.
    """

    def __init__(self, settings: DevSettings, project: Project, db: Database,
                 redis: RedisBackend | None = None) -> None:
        self.settings = settings
        limits = settings.limits  # each part gets its own figures (limits.py)
        self.db = db
        self.queue_store = SQLiteQueueStore(self.db)
        self.bus = LocalEventBus(self.queue_store, limits)
        self.hub = Hub(limits.ws_outbox_frames, EventLog(started_at=int(time.time() * 1000),
                                                         window_s=limits.stream_replay_s,
                                                         max_events=limits.replay_events))
        # The Workbench's traces and logs: recorded in memory, pushed live to open pages.
        self.feed = WorkbenchFeed(limits.workbench_outbox_frames)
        self.traces = TraceRecorder(lambda topic: [s.name for s in project.subscribers(topic)], limits=limits)
        self.traces.listeners.append(self.feed.publish)
        self.traces.watching = self.feed.watching  # summaries built only while a page shows them
        # With Redis, state and streams are shared by every worker; the queue stays in SQLite,
        # which workers share safely (see adapters/sqlite/queue.py and docs/storage.md).
        self.redis = redis
        state, streams = ((redis.state_store(), redis.stream_store()) if redis
                          else (SQLiteStateStore(self.db), SQLiteStreamStore(self.db)))
        self.runtime = Runtime(
            project, state=state, streams=streams, bus=self.bus, observer=self.traces, log_sink=self.traces.log,
            limits=limits,
        )
        self._closing: set[asyncio.Task[None]] = set()
        for store in self.runtime.stream_stores:
            store.add_listener(self.hub.on_change)
            store.add_listener(self.feed.on_stream_change)
            store.add_resync_listener(self._resync_clients)
        self.analytics = StreamAnalytics(self.runtime, self.hub, redis)  # /__motia/streams/analytics
        self.scheduler = CronScheduler(self.runtime, claim=redis.cron_lock().claim if redis else None)
        for warning in project.warnings:
            self.runtime.logger().warning(warning)

    @classmethod
    def open(cls, settings: DevSettings) -> LocalHost:
        """Load the project under ``settings.root`` (refreshing its ``motia_types.py``) and open
        its database (and Redis, when configured). Raises ConfigError for a project that does
        not load."""
        project = load_project(settings.root)
        refresh_types(project)  # motia_types.py follows the steps as they are edited (reload)
        return cls(settings, project, Database(settings.data_dir / "motia.db"), _redis_backend(settings.redis_url))

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        install_log_redaction()  # uvicorn's loggers: request paths carry ?authToken=
        with _stream_secret(self.settings.data_dir):
            self.feed.bind(asyncio.get_running_loop())
            for store in self.runtime.stream_stores:
                await store.astart()  # change feeds first: no change is missed once clients can join
            self.bus.start(self.runtime)
            self.scheduler.start()
            self.analytics.start()
            if self.settings.freeze_gc:
                # Everything loaded so far (modules, the project, schemas: ~45k objects) lives as
                # long as the process; out of the collector's sight, a full collection scans only
                # what came after, so it no longer stops every request for tens of milliseconds
                # (tests/local/test_socket_limits.py).
                gc.freeze()
            try:
                yield
            finally:
                await self.analytics.stop()
                await self.scheduler.stop()
                await self.runtime.aclose()
                if self.redis is not None:
                    await self.redis.aclose()
                self.db.close()

    def _resync_clients(self) -> None:
        # A store's change feed was cut and is back: changes made meanwhile never reached this
        # process. Every socket is closed so its client rejoins and reads a fresh sync (Motia's
        # clients and ours reconnect by themselves).
        self.hub.events.lost_track()  # their rejoins' replays come from the store's history
        for connection in list(self.hub.connections):
            task = asyncio.ensure_future(connection.close(*RESYNC_CLOSE))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def app(self) -> LocalApp:
        limits = self.settings.limits
        socket = StreamSocket(self.runtime, self.hub, limits.max_subscriptions).serve
        # Server-Sent Events: the same session as the socket, one join per request (sse.py).
        events = StreamEvents(self.runtime, self.hub, limits.max_subscriptions, limits.sse_keepalive_s).serve
        routes = [
            *AdminApi(self.runtime, queue=self.queue_store, bus=self.bus, hub=self.hub, traces=self.traces,
                      feed=self.feed, scheduler=self.scheduler, analytics=self.analytics).routes(),
            *api_routes(self.runtime),
            openapi_route(self.runtime),
            # After the API steps (a step owning GET / wins), before the catch-all stream socket.
            *workbench_routes(self.runtime.project, self.feed),
            # Motia's clients connect to the bare address; any path is accepted, as Motia does.
            Route("/__streams/{stream}/{group}", events, methods=["GET"]),
            Route("/__streams/{stream}/{group}/{id}", events, methods=["GET"]),
            WebSocketRoute("/", socket),
            WebSocketRoute("/{path:path}", socket),
            *demo_routes(self.settings.root),  # /demo/: the built clients/web page, if the project has one
        ]
        app = LocalApp(
            routes=routes,
            lifespan=self.lifespan,
            exception_handlers={HTTPException: _http_error, ClientDisconnect: _client_gone},
            # Host allow-list on everything, /__motia/ for the server's own page only, CORS for the
            # rest (trust.py); then 413 for bodies over MOTIA_MAX_BODY_BYTES (body_limit.py).
            middleware=[Middleware(TrustBoundary, hosts=self.settings.allowed_hosts,
                                   cors_origins=self.settings.cors_origins),
                        Middleware(BodyLimit, max_bytes=limits.max_body_bytes)],
        )
        app.router = StaticFirstRouter.replacing(app.router)  # GET /ping without trying 18 routes first
        # A plain request for an API step skips the stack above when it would only pass it on (api_front.py).
        app.fast_path(HostAllowList(self.settings.allowed_hosts), _http_error, limits.max_body_bytes)
        app.state.host = self
        return app


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _client_gone(_: Request, exc: Exception) -> Response:
    """A client that closed its connection in the middle of its request body (a tab closed during
    an upload): nobody is left to answer, and nothing failed here, so no 500 and no traceback in
    the log. The answer is dropped by the server (the connection is gone)."""
    return Response(status_code=400)


@contextlib.contextmanager
def _stream_secret(data_dir: Path) -> Iterator[None]:
    """MOTIA_STREAM_SECRET, from the data directory's file (made once) when it is not set, for
    as long as the app runs: stream tokens work in dev without setup (stream_secret.py)."""
    if os.environ.get(ENV_SECRET, "").strip():
        yield
        return
    ensure_stream_secret(data_dir)
    try:
        yield
    finally:
        os.environ.pop(ENV_SECRET, None)


def _redis_backend(url: str | None) -> RedisBackend | None:
    if not url:
        return None
    from ...adapters.redis import RedisBackend  # the redis extra, imported only when configured

    return RedisBackend(url)


def create_app(settings: DevSettings | None = None) -> ASGIApp:
    """The app factory uvicorn calls in the worker process (again after each reload).

    A project that does not load is reported as its config error (file, line and field), not a
    traceback. Under reload the worker then serves that error (503s, the Workbench banner, join
    refusals: see broken.py) until the next change restarts it; without reload it ends.
    """
    settings = settings or DevSettings.from_env()
    try:
        return LocalHost.open(settings).app()
    except ConfigError as exc:
        reloading = settings.reload
        hint = "\nmotia: waiting for a file to change" if reloading else ""
        print(f"motia: {exc.located()}{hint}", file=sys.stderr, flush=True)
        if reloading:
            # The same trust boundary as the real app: the error names files of the project, and
            # its feed and socket must answer only the developer's own pages (trust.py).
            # Served as uvicorn's app itself: TrustBoundary is ASGI 3 (asgi3.py).
            return TrustBoundary(broken_project_app(exc), hosts=settings.allowed_hosts,
                                 cors_origins=settings.cors_origins)
        raise SystemExit(2) from None

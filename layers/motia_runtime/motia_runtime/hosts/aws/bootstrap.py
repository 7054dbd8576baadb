"""One Runtime per Lambda container, built on first use from the environment.

What a function keeps between invocations (its settings, runtime and clients) is a
:class:`Function`. An entry point serves :func:`current`: on Lambda, one per process, made on the
first call (a process serves one function); a harness that stands in for several functions in one
process (``CloudSim``) makes one per function and calls the entry point inside
:func:`serving`. The module-level helpers (``runtime()``, ``subscriptions()``, ...) are the
current function's.

Environment (the SAM template sets these; see docs/deploying):
``MOTIA_STEP`` and ``MOTIA_STEP_FILE`` (api/queue/schedule functions: the step and its file),
``MOTIA_STATE_TABLE``, ``MOTIA_STREAMS_TABLE``, ``MOTIA_CONNECTIONS_TABLE``, ``MOTIA_EVENT_BUS``,
``MOTIA_WS_ENDPOINT``, ``MOTIA_FIFO_QUEUES`` (JSON: topic → FIFO queue URLs),
``MOTIA_QUEUE_URL`` and ``MOTIA_DEAD_LETTER_QUEUE_URL`` (an event function's own queues) and
``MOTIA_PROJECT_ROOT`` (default ``LAMBDA_TASK_ROOT``, else the working directory). A function
that lacks a table or the bus still starts; only the operations that need the missing resource
fail, naming the variable.

A function loads what it serves, not the whole project (see ``runtime()``): every stream (and
``streams/auth.py``), plus the step of ``MOTIA_STEP_FILE``; the WebSocket function no step; the
triggers function its trigger steps (``MOTIA_STEP_FILES``) and each stream when first used
(``MOTIA_STREAM_FILES``).
``motia dev``, ``motia check`` and ``motia generate`` load and validate every step.

Coroutines run on one event loop per container, kept between invocations, so objects a step
keeps at module level stay usable. Entry points are called from synchronous code, as the Lambda
runtime calls them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from ... import jsonsafe
from ...errors import ConfigError, EmitError, StateError, StreamError
from ...limits import DEFAULTS, Limits
from ...log import StepLogger
from ...ports.events import Event, EventBus
from ...ports.state import StateStore
from ...ports.streams import Mutation, StreamChange, StreamStore
from . import _gc

if TYPE_CHECKING:
    # Imported where they are used: the fan-out never loads the project (nor pydantic), and the
    # api, queue and schedule functions never the pusher or the subscriptions.
    from ...adapters.aws import ApiGatewayPusher, DynamoDBSubscriptions
    from ...adapters.aws.delivery_queue import DeliveryQueue
    from ...adapters.aws.redelivery import SqsRedelivery
    from ...config import ApiRouteConfig, CronConfig, EventConfig
    from ...project import Project, Step
    from ...runtime import Runtime

T = TypeVar("T")

ENV_STEP = "MOTIA_STEP"
ENV_STEP_FILE = "MOTIA_STEP_FILE"
# The triggers function: its trigger steps' files (comma-separated), the only steps it routes to.
ENV_STEP_FILES = "MOTIA_STEP_FILES"
# The triggers function: every stream's file (JSON: name -> file), so it imports a stream only
# when a leave hook (or what the hook writes) first needs it.
ENV_STREAM_FILES = "MOTIA_STREAM_FILES"
ENV_STATE_TABLE = "MOTIA_STATE_TABLE"
ENV_STREAMS_TABLE = "MOTIA_STREAMS_TABLE"
ENV_CONNECTIONS_TABLE = "MOTIA_CONNECTIONS_TABLE"
ENV_EVENT_BUS = "MOTIA_EVENT_BUS"
ENV_WS_ENDPOINT = "MOTIA_WS_ENDPOINT"
ENV_FIFO_QUEUES = "MOTIA_FIFO_QUEUES"
ENV_PROJECT_ROOT = "MOTIA_PROJECT_ROOT"
# The big-room fan-out (docs/scaling.md): shards of a big room, the joins that make a room big,
# and the SQS FIFO queue of delivery work (the template sets all three; without them no room is
# sharded and every room is served in one hop).
ENV_FANOUT_SHARDS = "MOTIA_FANOUT_SHARDS"
ENV_BIG_ROOM = "MOTIA_FANOUT_BIG_ROOM"
ENV_DELIVERY_QUEUE = "MOTIA_DELIVERY_QUEUE"
ENV_QUEUE_URL = "MOTIA_QUEUE_URL"
ENV_DEAD_LETTER_URL = "MOTIA_DEAD_LETTER_QUEUE_URL"
ENV_METRICS_NAMESPACE = "MOTIA_METRICS_NAMESPACE"  # the CloudWatch namespace of the EMF lines (metrics.py)


# eq=False: never compared, and each method a dataclass generates is compiled at import (Python
# 3.11): ~0.6 M instructions of every Lambda cold start each (bench/optimisations.md, row 22).
@dataclass(frozen=True, eq=False)
class Settings:
    project_root: Path
    state_table: str | None = None
    streams_table: str | None = None
    connections_table: str | None = None
    event_bus: str | None = None
    ws_endpoint: str | None = None
    fifo_queues: dict[str, list[str]] = field(default_factory=dict)
    queue_url: str | None = None
    dead_letter_url: str | None = None
    # MOTIA_WS_MAX_SUBSCRIPTIONS, MOTIA_MAX_BODY_BYTES, MOTIA_PUSH_CONCURRENCY, MOTIA_DELIVERY_ATTEMPTS,
    # MOTIA_FANOUT_SHARDS and MOTIA_FANOUT_BIG_ROOM: read here, once per function (limits.py).
    limits: Limits = DEFAULTS

    # What it serves: MOTIA_STEP and MOTIA_STEP_FILE (api/queue/schedule functions), MOTIA_STEP_FILES
    # and MOTIA_STREAM_FILES (the triggers function), MOTIA_DELIVERY_QUEUE (the fan-out's big rooms).
    step: str | None = None
    step_file: str | None = None
    step_files: tuple[str, ...] = ()
    stream_files: str | None = None  # MOTIA_STREAM_FILES, parsed where it is used (_stream_files)
    delivery_queue_url: str | None = None
    metrics_namespace: str = "Motia"  # MOTIA_METRICS_NAMESPACE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Raises ConfigError naming the variable for a malformed one (MOTIA_FIFO_QUEUES, a limit)."""
        env = os.environ if env is None else env
        root = env.get(ENV_PROJECT_ROOT) or env.get("LAMBDA_TASK_ROOT") or os.getcwd()
        return cls(
            project_root=Path(root), state_table=env.get(ENV_STATE_TABLE) or None,
            streams_table=env.get(ENV_STREAMS_TABLE) or None,
            connections_table=env.get(ENV_CONNECTIONS_TABLE) or None, event_bus=env.get(ENV_EVENT_BUS) or None,
            ws_endpoint=env.get(ENV_WS_ENDPOINT) or None, fifo_queues=_fifo_queues(env.get(ENV_FIFO_QUEUES)),
            queue_url=env.get(ENV_QUEUE_URL) or None, dead_letter_url=env.get(ENV_DEAD_LETTER_URL) or None,
            limits=Limits.from_env(env), step=env.get(ENV_STEP) or None, step_file=env.get(ENV_STEP_FILE) or None,
            step_files=tuple(f for f in env.get(ENV_STEP_FILES, "").split(",") if f),
            stream_files=env.get(ENV_STREAM_FILES),
            delivery_queue_url=env.get(ENV_DELIVERY_QUEUE) or None,
            metrics_namespace=(env.get(ENV_METRICS_NAMESPACE) or "").strip() or "Motia",
        )


def _fifo_queues(raw: str | None) -> dict[str, list[str]]:
    if not raw:
        return {}
    try:
        value = jsonsafe.loads(raw, what="value")
    except jsonsafe.InvalidJSONError as exc:
        raise ConfigError(f"{ENV_FIFO_QUEUES}: {exc}") from None
    if not isinstance(value, dict) or not all(
        isinstance(t, str) and isinstance(urls, list) and all(isinstance(u, str) for u in urls)
        for t, urls in value.items()
    ):
        raise ConfigError(f"{ENV_FIFO_QUEUES} must be a JSON object of topic -> list of SQS FIFO queue URLs")
    return value


# -- stand-ins for resources this function was not given ------------------------------------
def _unset(variable: str) -> str:
    return f"{variable} is not set on this function, so it cannot reach that resource"


class _NoState(StateStore):
    async def _fail(self, *_: Any, **__: Any) -> Any:
        raise StateError(_unset(ENV_STATE_TABLE))

    get = set = delete = get_group = clear = list_groups = page = _fail


class _NoStreams(StreamStore):
    async def _fail(self, *_: Any, **__: Any) -> Any:
        raise StreamError(_unset(ENV_STREAMS_TABLE))

    get = get_group = set = delete = list_groups = _fail

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        raise StreamError(_unset(ENV_STREAMS_TABLE))

    async def send(self, stream: str, group_id: str, id: str | None, event: dict[str, Any]) -> StreamChange:
        raise StreamError(_unset(ENV_STREAMS_TABLE))


class _NoBus(EventBus):
    async def publish(self, events: Sequence[Event]) -> None:
        raise EmitError(_unset(ENV_EVENT_BUS))


# -- what one function keeps ------------------------------------------------------------------
class Function:
    """One Lambda function's settings, runtime and clients, each made on first use and kept
    between invocations. ``env`` is its environment (default: this process's, read on first use:
    a malformed variable is a ConfigError inside the entry point's own error handling)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else dict(env)
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None
        self._runtime_has_steps = False
        self._subscriptions: DynamoDBSubscriptions | None = None
        self._delivery_queue: DeliveryQueue | None = None
        self._redelivery: SqsRedelivery | None = None
        self.pushers: dict[str, ApiGatewayPusher] = {}  # by endpoint
        self._lock = threading.RLock()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env(self.env)
        return self._settings

    @property
    def step_name(self) -> str | None:
        """``MOTIA_STEP`` (read without the other settings: the entry points log it before anything)."""
        return self.env.get(ENV_STEP) or None

    def runtime(self, *, steps: bool = True) -> Runtime:
        """The project wired to DynamoDB and EventBridge; loaded once.

        ``steps=False`` (the WebSocket function) loads the streams and ``authenticate`` only. With
        steps, a function whose template gives it ``MOTIA_STEP_FILE`` loads that one step (see
        ``_load_project``); any other loads every step."""
        with self._lock:
            # (A process that stands in for several functions may ask a steps-less one for steps.)
            if self._runtime is None or (steps and not self._runtime_has_steps):
                settings = self.settings
                with _gc.paused():  # once per container: see _gc.py
                    self._runtime = _build_runtime(settings, steps)
                self._runtime_has_steps = steps
                for warning in self._runtime.project.warnings:
                    self._runtime.logger().warning(warning)
            return self._runtime

    def subscriptions(self) -> DynamoDBSubscriptions:
        _gc.resume()  # an entry point's first call: its import is over (the fan-out's, see _gc.py)
        with self._lock:
            if self._subscriptions is None:
                table = self.settings.connections_table
                if not table:
                    raise ConfigError(_unset(ENV_CONNECTIONS_TABLE))
                from ...adapters.aws.subscriptions import DynamoDBSubscriptions

                # MOTIA_FANOUT_SHARDS unset: 1, rooms are never sharded (the template sets it with the
                # delivery queue).
                limits = self.settings.limits
                self._subscriptions = DynamoDBSubscriptions(table, shards=limits.fanout_shards,
                                                            big_room=limits.fanout_big_room)
            return self._subscriptions

    def delivery_queue(self) -> DeliveryQueue | None:
        """The big-room delivery queue (``MOTIA_DELIVERY_QUEUE``, a FIFO queue URL), or None."""
        url = self.settings.delivery_queue_url
        if url is None:
            return None
        with self._lock:
            if self._delivery_queue is None:
                from ...adapters.aws.delivery_queue import DeliveryQueue

                self._delivery_queue = DeliveryQueue(url)
            return self._delivery_queue

    def redelivery(self) -> SqsRedelivery:
        """The event function's retry delays and dead letters on its own queues (see redelivery.py)."""
        with self._lock:
            if self._redelivery is None:
                from ...adapters.aws.redelivery import SqsRedelivery

                self._redelivery = SqsRedelivery(self.settings.queue_url, self.settings.dead_letter_url)
            return self._redelivery

    def pusher(self, fallback_endpoint: str | None = None) -> ApiGatewayPusher:
        """The Management API client for ``MOTIA_WS_ENDPOINT`` (or the endpoint the WebSocket event
        came from, when the variable is not set)."""
        _gc.resume()
        endpoint = self.settings.ws_endpoint or fallback_endpoint
        if not endpoint:
            raise ConfigError(_unset(ENV_WS_ENDPOINT))
        with self._lock:
            if endpoint not in self.pushers:
                from ...adapters.aws.pusher import ApiGatewayPusher

                self.pushers[endpoint] = ApiGatewayPusher(endpoint, pool_size=self.settings.limits.push_concurrency)
            return self.pushers[endpoint]


_lock = threading.Lock()
_process: Function | None = None  # the function this process serves (Lambda: one per process)
# The function a harness is calling an entry point for (serving()); unset on Lambda.
_serving: contextvars.ContextVar[Function | None] = contextvars.ContextVar("motia_function", default=None)
_loop: asyncio.AbstractEventLoop | None = None


def current() -> Function:
    """The function being served: the one :func:`serving` names, else this process's (made on
    first use, from the process environment)."""
    function = _serving.get()
    if function is not None:
        return function
    global _process
    if _process is None:
        with _lock:
            if _process is None:
                _process = Function()
    return _process


@contextlib.contextmanager
def serving(function: Function) -> Iterator[Function]:
    """Entry points called inside this serve ``function`` (a harness standing in for several
    functions in one process: each keeps its own runtime and clients)."""
    token = _serving.set(function)
    try:
        yield function
    finally:
        _serving.reset(token)


def settings() -> Settings:
    return current().settings


def runtime(*, steps: bool = True) -> Runtime:
    """The current function's runtime (:meth:`Function.runtime`)."""
    return current().runtime(steps=steps)


def _build_runtime(s: Settings, steps: bool) -> Runtime:
    from ...runtime import Runtime

    if os.environ.get("MOTIA_SECRETS"):  # before the steps load: module-level code may read them
        from ... import secrets

        for name in secrets.load_into_environ():
            StepLogger({}).warning(f"secret {name} does not exist ({secrets.declared()[name]}): left unset")

    project = _load_project(s, steps)
    state: StateStore = _NoState()
    if s.state_table:
        from ...adapters.aws.state import DynamoDBStateStore

        state = DynamoDBStateStore(s.state_table)
    streams: StreamStore = _NoStreams()
    if s.streams_table:
        from ...adapters.aws.streams import DynamoDBStreamStore
        # Event records outlive the replay window by a minute, so a replay finds them all.
        streams = DynamoDBStreamStore(s.streams_table, event_ttl_s=s.limits.stream_replay_s + 60)
    bus: EventBus = _NoBus()
    if s.event_bus:
        from ...adapters.aws.bus import EventBridgeBus

        bus = EventBridgeBus(s.event_bus, fifo_queues=s.fifo_queues)
    # Stream and state triggers come from the tables' change streams (hosts/aws/triggers.py).
    return Runtime(project, state=state, streams=streams, bus=bus, triggers_from_writes=False, limits=s.limits)


def _load_project(s: Settings, steps: bool) -> Project:
    """What this function serves, validated as ``motia dev`` validates it.

    The triggers function loads the trigger steps ``MOTIA_STEP_FILES`` lists. Loading one step is
    only done where the rest of the project cannot matter: the step must be
    the one named ``MOTIA_STEP`` (the template writes both from the same project, and ``make
    build`` checks the template is current), and the function must not feed FIFO queues, since
    an emit without ``messageGroupId`` is refused by naming the FIFO steps it feeds, which only
    the whole project knows. Otherwise, or when the file is not found, every step is loaded.
    Whole-project checks (step names, routes, topics nobody emits) are ``motia check``'s and
    ``motia generate``'s: a partial project has ``complete=False`` and no warnings."""
    from ...project import load_project

    if not steps:
        return load_project(s.project_root, step_files=())
    functions_dir = (s.project_root / "functions").resolve()
    listed = s.step_files
    stream_files = _stream_files(s.project_root, s.stream_files)
    if (listed or stream_files is not None) and not s.step:
        # The triggers function reads its trigger steps' configs and runs no step handler; its
        # leave hooks cannot emit (a hook is recorded as a step with no emits), so no FIFO check
        # needs the rest of the project. Its streams are imported as hooks first use them.
        paths = [s.project_root / f for f in listed]
        if all(p.is_file() and p.resolve().is_relative_to(functions_dir) for p in paths):
            return load_project(s.project_root, step_files=paths, stream_files=stream_files)
    name, file = s.step, s.step_file
    if name and file and not s.fifo_queues:
        path = s.project_root / file
        if path.is_file() and path.resolve().is_relative_to(functions_dir):
            project = load_project(s.project_root, step_files=[path])
            if name in project.steps:
                return project
    return load_project(s.project_root)


def _stream_files(root: Path, raw: str | None) -> dict[str, str] | None:
    """``MOTIA_STREAM_FILES`` (``raw``), or None (every stream is imported at start) when it is
    unset or stale: not a JSON object of names to files, or a file that is not in ``streams/``."""
    if raw is None:
        return None
    try:
        value = jsonsafe.loads(raw, what="value")
    except jsonsafe.InvalidJSONError:
        return None
    streams_dir = (root / "streams").resolve()
    if not isinstance(value, dict) or not all(
            isinstance(name, str) and isinstance(file, str) and (root / file).is_file()
            and (root / file).resolve().is_relative_to(streams_dir) for name, file in value.items()):
        return None
    return value


def subscriptions() -> DynamoDBSubscriptions:
    return current().subscriptions()


def delivery_queue() -> DeliveryQueue | None:
    return current().delivery_queue()


def redelivery() -> SqsRedelivery:
    return current().redelivery()


def pusher(fallback_endpoint: str | None = None) -> ApiGatewayPusher:
    return current().pusher(fallback_endpoint)


def step_name() -> str | None:
    """``MOTIA_STEP`` of the current function."""
    return current().step_name


@overload
def step(kind: Literal["api"]) -> Step[ApiRouteConfig]: ...
@overload
def step(kind: Literal["event"]) -> Step[EventConfig]: ...  # stream and state trigger steps are EventConfigs
@overload
def step(kind: Literal["cron"]) -> Step[CronConfig]: ...


def step(kind: str) -> Step:
    """The step this function serves (``MOTIA_STEP``), checked to be of ``kind``."""
    name = step_name()
    if not name:
        raise ConfigError(f"{ENV_STEP} is not set: this {kind} function does not know which step it serves")
    found = runtime().project.steps.get(name)
    if found is None:
        known = ", ".join(sorted(runtime().project.steps)) or "none"
        raise ConfigError(f"{ENV_STEP}={name!r} is not a step of the project (steps: {known})")
    # Stream and state trigger steps are queue consumers: the queue entry point serves them.
    found_kind = "event" if found.config.type in ("stream", "state") else found.config.type
    if found_kind != kind:
        raise ConfigError(f"{ENV_STEP}={name!r} is a {found.config.type} step, but this is the {kind} entry point")
    return found


def logger(**bindings: Any) -> StepLogger:
    """A structured logger (Powertools JSON lines) that does not need the project loaded."""
    _gc.resume()  # every handler starts here: its entry module's import is over (see _gc.py)
    return StepLogger({k: v for k, v in bindings.items() if v is not None})


def loop() -> asyncio.AbstractEventLoop:
    """The container's event loop, installed as the current thread's loop."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
        return _loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    return loop().run_until_complete(coro)


def reset() -> None:
    """Forget this process's function and close the event loop (the harness does this between
    simulations, and for a cold start)."""
    global _loop, _process
    with _lock:
        _process = None
        if _loop is not None and not _loop.is_running():
            _loop.close()
        _loop = None

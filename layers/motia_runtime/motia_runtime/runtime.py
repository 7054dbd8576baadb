"""The runtime: a loaded project wired to its adapters. Both hosts build one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import StreamConfig
from .context import Emitter, FlowContext, TracedState
from .errors import ConfigError
from .limits import DEFAULTS, Limits
from .log import LogSink, StepLogger
from .observe import Observer
from .ports.events import EventBus
from .ports.state import StateStore
from .ports.streams import HistoryPolicy, StreamChange, StreamStore
from .project import Project, Step
from .state import State
from .streams import Stream, Streams, TracedStreams

if TYPE_CHECKING:
    from .trigger_routing import TriggerRouter


def _store_for(config: StreamConfig, default: StreamStore, file: str) -> StreamStore:
    if config.base_config.storage_type != "custom":
        return default
    factory = config.base_config.factory
    assert factory is not None  # the config model refuses custom without a factory
    store = factory()
    if not isinstance(store, StreamStore):
        raise ConfigError(
            f"the custom stream factory returned {type(store).__name__}, not a StreamStore", file=file,
            field="baseConfig.factory",
        )
    return store


class Runtime:
    def __init__(
        self,
        project: Project,
        *,
        state: StateStore,
        streams: StreamStore,
        bus: EventBus,
        observer: Observer | None = None,
        log_sink: LogSink | None = None,
        triggers_from_writes: bool = True,
        limits: Limits = DEFAULTS,
    ) -> None:
        """``triggers_from_writes``: queue stream and state triggers as steps write (the local
        host); False where the stores' change streams feed them instead (AWS). ``limits``: the
        host's (the replay window a stream without its own keeps, the trigger depth)."""
        self.project = project
        self.limits = limits
        self._triggers: TriggerRouter | None = None
        publisher = None
        if triggers_from_writes:
            from .trigger_routing import TriggerPublisher

            publisher = TriggerPublisher(self.triggers, bus, limits.trigger_max_depth)
        self.state_store = state
        self.state = State(state, publisher)
        self.stream_store = streams
        streams.set_default_history_policy(HistoryPolicy(limits.stream_replay_s))
        self.bus = bus
        self.observer = observer or Observer()
        self.log_sink = log_sink
        self._publisher = publisher
        self.streams: dict[str, Stream] = {}
        for cfg in project.streams.values():
            self._add_stream(cfg)
        self._streams_view = Streams(self.streams, self)
        if publisher is not None and publisher.router.active:
            for store in self.stream_stores:
                store.add_expiry_listener(self._item_expired)

    async def _item_expired(self, change: StreamChange) -> None:
        """A store removed an item past its TTL: queue the stream triggers of that ``delete``."""
        stream = self.streams.get(change.stream_name)
        if stream is None or stream.triggers is None:
            return
        try:
            await stream.triggers.stream_expired(change)
        except Exception as exc:  # the sweeper goes on with the other items; this one is gone
            self.logger().error(f"could not queue the stream triggers of expired item {change.stream_name}/"
                                f"{change.group_id}/{change.id}: {type(exc).__name__}: {exc}")

    def _add_stream(self, config: StreamConfig) -> Stream:
        file = str(self.project.stream_files.get(config.name, config.name))
        stream = self.streams[config.name] = Stream(config, _store_for(config, self.stream_store, file),
                                                    self._publisher)
        history = config.history
        window_s = self.limits.stream_replay_s if history.window_s is None else history.window_s
        stream.store.set_history_policy(stream.name, HistoryPolicy(window_s, history.max_events))
        self.__dict__.pop("_settlers", None)  # settle() covers this stream's store from now on
        return stream

    def stream(self, name: str) -> Stream | None:
        """The stream ``name`` (None: the project has none). A project loaded with its streams'
        files only (the AWS triggers function's) imports a stream here, on first use."""
        found = self.streams.get(name)
        if found is not None or name not in self.project.unloaded_streams:
            return found
        before = set(self.project.streams)
        config = self.project.load_stream(name)
        for other in self.project.streams.keys() - before - {name}:  # a stale list: every stream was loaded
            self._add_stream(self.project.streams[other])
        return None if config is None else self._add_stream(config)

    def stream_names(self) -> list[str]:
        return [*self.streams, *self.project.unloaded_streams]

    @property
    def triggers(self) -> TriggerRouter:
        """The project's stream and state triggers, indexed. Built on first use: on AWS only the
        triggers function routes changes (the stores' change streams feed it), so the others
        never import the routing."""
        if self._triggers is None:
            from .trigger_routing import TriggerRouter

            self._triggers = TriggerRouter(self.project)
        return self._triggers

    @property
    def stream_stores(self) -> list[StreamStore]:
        """Every distinct store in use (custom streams bring their own)."""
        seen: dict[int, StreamStore] = {id(self.stream_store): self.stream_store}
        for stream in self.streams.values():
            seen.setdefault(id(stream.store), stream.store)
        return list(seen.values())

    def settle(self) -> None:
        """Commit what the stores hold back for a group commit (``StreamStore.settle``): run after
        a step's handler, before its response or ack goes out."""
        for settle in self._settlers:
            settle()

    @functools.cached_property
    def _settlers(self) -> list[Callable[[], None]]:
        return [store.settle for store in self.stream_stores]

    def logger(self, step: Step | None = None, trace_id: str | None = None) -> StepLogger:
        bindings: dict[str, str | list[str]] = {}
        if trace_id:
            bindings["traceId"] = trace_id
        if step is not None:
            bindings["step"] = step.name
            bindings["flows"] = step.config.flows
        return StepLogger(bindings, self.log_sink)

    def context(self, step: Step, trace_id: str) -> FlowContext:
        state: StateStore = self.state  # the State facade: update(), triggers
        streams: Streams = self._streams_view
        if self.observer.records_operations:
            # Wrapped per run so each call is attributed to its trace and step (see Observer).
            state = TracedState(self.state, self.observer, trace_id, step.name)
            streams = TracedStreams(self.streams, self.observer, trace_id, step.name, self)
        return FlowContext(
            trace_id=trace_id,
            flows=list(step.config.flows),
            logger=self.logger(step, trace_id),
            emit=Emitter(self, step, trace_id),
            state=state,
            streams=streams,
            step=step.name,
            trigger=step.trigger or None,
        )

    async def aclose(self) -> None:
        await self.bus.aclose()
        for store in self.stream_stores:
            await store.aclose()
        await self.state.aclose()

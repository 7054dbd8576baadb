"""The server's limits on connections, streams, triggers, the local bus, request bodies and Workbench
memory, as one value.

A host is built from a :class:`Limits` and hands each part the figure it uses (the local host:
``DevSettings.limits``; a Lambda function: ``bootstrap.Settings.limits``), so a test can build a
host with a small limit without touching the process environment, and two hosts in one process
can differ. The environment variables stay the way a user sets them: :meth:`Limits.from_env`
reads them once, when the settings are made, and a bad value is a ``ConfigError`` naming the
variable, the unit and the bounds (``motia dev`` prints it and exits 2; no traceback).
The figures and what happens past them: docs/guarantees.md, "Limits" and "Memory".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import ConfigError

# field -> (its variable, unit, minimum, maximum or None); the field's default is the variable's.
# Plain tuples: this module is on every Lambda cold start (see Limits).
_BOUNDS: dict[str, tuple[str, str, int, int | None]] = {
    "max_subscriptions": ("MOTIA_WS_MAX_SUBSCRIPTIONS", "subscriptions", 1, None),
    "max_body_bytes": ("MOTIA_MAX_BODY_BYTES", "bytes", 1, None),
    "ws_outbox_frames": ("MOTIA_WS_OUTBOX_FRAMES", "frames", 1, None),
    "sse_keepalive_s": ("MOTIA_SSE_KEEPALIVE_S", "seconds", 1, None),
    "header_timeout_s": ("MOTIA_HEADER_TIMEOUT_S", "seconds", 1, None),
    "replay_events": ("MOTIA_STREAM_REPLAY_EVENTS", "events", 1, 10_000_000),
    "workbench_traces": ("MOTIA_WORKBENCH_TRACES", "traces", 1, 100_000),
    "workbench_trace_events": ("MOTIA_WORKBENCH_TRACE_EVENTS", "events", 1, 100_000),
    "workbench_trace_mb": ("MOTIA_WORKBENCH_TRACE_MB", "MB", 1, 100_000),
    "workbench_logs": ("MOTIA_WORKBENCH_LOGS", "log entries", 1, 1_000_000),
    "workbench_logs_mb": ("MOTIA_WORKBENCH_LOGS_MB", "MB", 1, 100_000),
    "workbench_outbox_frames": ("MOTIA_WORKBENCH_OUTBOX_FRAMES", "frames", 1, 1_000_000),
    "push_concurrency": ("MOTIA_PUSH_CONCURRENCY", "posts", 1, None),
    "delivery_attempts": ("MOTIA_DELIVERY_ATTEMPTS", "attempts", 1, None),
    "fanout_shards": ("MOTIA_FANOUT_SHARDS", "shards", 1, 1000),
    "fanout_big_room": ("MOTIA_FANOUT_BIG_ROOM", "joins", 1, None),
    "stream_replay_s": ("MOTIA_STREAM_REPLAY_S", "seconds", 0, 24 * 3600),
    "trigger_max_depth": ("MOTIA_TRIGGER_MAX_DEPTH", "trigger hops", 1, None),
    "bus_concurrency": ("MOTIA_BUS_CONCURRENCY", "handlers", 1, 100_000),
    "bus_max_loop_lag_ms": ("MOTIA_BUS_MAX_LOOP_LAG_MS", "ms", 1, 60_000),
    "bus_max_rss_mb": ("MOTIA_BUS_MAX_RSS_MB", "MB", 1, 10_000_000),
}


class _Fields(NamedTuple):
    # Both hosts.
    max_subscriptions: int = 1000  # subscriptions one connection may hold at once
    max_body_bytes: int = 1024 * 1024  # the largest HTTP request body an API step is given
    # The local host.
    ws_outbox_frames: int = 10_000  # frames queued for one stream client before it is dropped (1013)
    sse_keepalive_s: int = 15  # a comment line this often keeps an idle SSE stream open
    # A request head (a WebSocket handshake included) must arrive within it; an unfinished body must go on within it.
    header_timeout_s: int = 10
    replay_events: int = 20_000  # sent events kept in memory for replay, over all groups
    workbench_traces: int = 300
    workbench_trace_events: int = 2000  # per trace
    workbench_trace_mb: int = 8  # every kept trace's events, as JSON
    workbench_logs: int = 5000
    workbench_logs_mb: int = 8
    workbench_outbox_frames: int = 5000  # frames queued for one open Workbench page
    # AWS: the fan-out and the big-room delivery (docs/scaling.md).
    push_concurrency: int = 64  # posts in flight per invocation (why 64: adapters/aws/pusher.py)
    delivery_attempts: int = 3  # a slow connection's attempts before it is disconnected
    fanout_shards: int = 1  # shards of a big room; 1: no room is sharded (the template sets it)
    fanout_big_room: int = 250  # joins after which a room is sharded
    # Both hosts: streams and triggers.
    stream_replay_s: int = 300  # how long sent events can be replayed (a stream's history default); 0: never
    trigger_max_depth: int = 8  # trigger hops one chain may take (trigger_routing.py)
    # The local event bus (hosts/local/bus_guard.py): handlers at once per step, and the guard.
    bus_concurrency: int = 1000  # Lambda's default account concurrency
    bus_max_loop_lag_ms: int = 100
    bus_max_rss_mb: int = 2048


class Limits(_Fields):
    """Every field is a whole number within its variable's bounds (checked when made). A tuple,
    not a dataclass: this module is on every Lambda cold start, and a frozen dataclass of 16
    fields cost ~10 M instructions to define, a NamedTuple ~3 M (callgrind)."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Limits:
        self = super().__new__(cls, *args, **kwargs)
        for name, (variable, unit, minimum, maximum) in _BOUNDS.items():
            value = getattr(self, name)
            if type(value) is not int:  # bool is an int, but never a limit
                raise ConfigError(f"{variable} ({name}) must be a whole number of {unit}, not {value!r}")
            if value < minimum or (maximum is not None and value > maximum):
                within = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
                raise ConfigError(f"{variable} ({name}) must be {within} {unit}, not {value}")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """The limits the environment sets (each variable unset or blank keeps its default)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, (variable, unit, _, _) in _BOUNDS.items():
            raw = (env.get(variable) or "").strip()
            if not raw:
                continue
            try:
                values[name] = int(raw)
            except ValueError:
                raise ConfigError(f"{variable} must be a whole number of {unit}, not {raw!r}") from None
        return cls(**values)

    def to_dict(self) -> dict[str, int]:
        return self._asdict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Limits:
        return cls(**{k: v for k, v in data.items() if k in _BOUNDS})


def variable(field_name: str) -> str:
    """The environment variable that sets ``field_name`` (for messages that tell how to raise it)."""
    return _BOUNDS[field_name][0]


DEFAULTS = Limits()

"""Trace and log capture for the Workbench: an Observer plus a log sink, kept in memory.

A trace (Motia's model) is everything one trace id did: one span per step run (start, end,
status, error with its stack) and a time-ordered list of events (emits, state and stream calls,
log entries). All of it lives in bounded memory, each bound a field of ``Limits`` (limits.py) set
by an environment variable:

- ``MOTIA_WORKBENCH_TRACES`` (default 300): past it, the oldest trace goes;
- ``MOTIA_WORKBENCH_TRACE_MB`` (default 8): the JSON size of every trace's events together; past
  it the oldest traces go too (the newest is always kept). A pet of the shelter's journey is ~70
  events, ~27 KB, so the default holds 300 of them whole: the count above is what binds;
- ``MOTIA_WORKBENCH_TRACE_EVENTS`` (default 2,000): past it a trace drops its oldest events and
  says how many;
- ``MOTIA_WORKBENCH_LOGS`` (default 5,000) and ``MOTIA_WORKBENCH_LOGS_MB`` (default 8, as JSON):
  the log ring keeps the last entries within both (a shelter log entry is ~300 bytes, so the
  count binds; the bytes bound entries with large values).

Events and log entries are kept as their JSON (bytes), which is what the bounds count, and each
recorded value is at most a 4,000-character preview. That suits a development tool: cheap,
never unbounded, and a restart starts clean (durable state, streams and queues are SQLite's job,
not this one's). ``memory()`` says how full each bound is (``GET /__motia/health`` shows it).

Hooks run on the event loop, but log entries can also come from worker threads (a plain
``def`` handler runs in a thread), so the store is guarded by a lock. Listeners (the Workbench
feed) are called after the lock is released, with small JSON-ready frames.
"""

from __future__ import annotations

import builtins
import json
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pydantic_core

from ...errors import ValidationError
from ...limits import DEFAULTS, Limits
from ...observe import Observer

Listener = Callable[[dict[str, Any]], None]

MAX_VALUE_CHARS = 4000
_SHORT = MAX_VALUE_CHARS // 12  # chars: 12 bytes is the most JSON spends on one (a surrogate pair)
LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


def now_ms() -> int:
    return int(time.time() * 1000)


def _plain(value: Any) -> bool:
    kind = type(value)
    return value is None or kind is bool or kind is float or (kind is int and -(10**15) < value < 10**15) or (
        kind is str and len(value) <= _SHORT)


def _tiny(value: Any) -> bool:
    return len(value) <= 32 if type(value) is str else type(value) is not str and _plain(value)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types; a large value becomes a preview, so one big payload cannot
    bloat the store or the page."""
    # The usual operation details (names, ids, counts) as they are: two encodings each cost more
    # than the rest of a set()'s record. A short string cannot reach the limit however escaped.
    if _plain(value):
        return value
    if type(value) is dict and len(value) <= 4:
        # A span's trigger, copied as pydantic would, without its two encodings: four short
        # entries stay under MAX_VALUE_CHARS however they are escaped (12 bytes a char at most).
        for k, v in value.items():
            if type(k) is not str or len(k) > 32 or not _tiny(v):
                break
        else:
            return dict(value)
    try:
        plain = pydantic_core.to_jsonable_python(value, fallback=repr)
        size = len(pydantic_core.to_json(plain))
    except Exception:  # a value whose repr itself fails: keep the type at least
        return f"<{type(value).__name__}>"
    if size <= MAX_VALUE_CHARS:
        return plain
    return {"__truncated__": size, "preview": pydantic_core.to_json(plain)[:MAX_VALUE_CHARS].decode(errors="ignore")}


def _event_value(value: Any) -> Any:
    """``jsonable`` for a value the event it goes into is encoded with at once (``operation``):
    a container that fits is kept as it is, its size learnt from one encoding instead of
    ``jsonable``'s two; the event's own encoding (``fallback=repr`` too) writes the same JSON.
    (A stream ``set()``'s data: bench/optimisations.md, S5.)"""
    if type(value) is not dict and type(value) is not list:
        return jsonable(value)
    try:
        size = len(pydantic_core.to_json(value, fallback=repr))
    except Exception:  # what jsonable makes of it, then
        return jsonable(value)
    return value if size <= MAX_VALUE_CHARS else jsonable(value)


_JSON_TYPES = frozenset({str, int, float, bool, type(None), dict, list})


def _encode_small(event: dict[str, Any], detail: dict[str, Any]) -> bytes | None:
    """The event's JSON in one encoding when it is small (at most ``MAX_VALUE_CHARS``) and its
    values are JSON types at the top: then each value's own JSON is shorter still, so
    ``_event_value`` would keep every one as it is and the encoding would be the same (it
    changes only ``detail``'s values, so only theirs are looked at). None
    otherwise (the caller goes value by value). Saves ``_event_value``'s encoding of a
    ``set()``'s data and its loop over the details (bench/optimisations.md, S8)."""
    for value in detail.values():
        if type(value) not in _JSON_TYPES:
            return None
    try:
        data = pydantic_core.to_json(event, fallback=repr)
    except Exception:  # what _event_value makes of it, then
        return None
    return data if len(data) <= MAX_VALUE_CHARS else None


def describe_error(error: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(error).__name__, "message": str(error),
                           "stack": "".join(traceback.format_exception(error)).rstrip()}
    if isinstance(error, ValidationError):
        out["errors"] = jsonable(error.errors)
    return out


@dataclass(slots=True)
class Span:
    id: int
    step: str
    trigger: dict[str, Any]
    start: int
    start_seq: int  # the recorder's sequence: orders a start among events of the same millisecond
    end: int | None = None
    end_seq: int | None = None
    error: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return "running" if self.end is None else "error" if self.error else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "step": self.step, "trigger": self.trigger, "start": self.start, "end": self.end,
                "startSeq": self.start_seq, "endSeq": self.end_seq,
                "durationMs": None if self.end is None else self.end - self.start, "status": self.status,
                "error": self.error}


@dataclass(slots=True)
class Trace:
    id: str
    start: int
    max_events: int
    spans: list[Span] = field(default_factory=list)
    # Each event as its JSON: about a quarter of the memory of the dict it was made from
    # (bench/optimisations.md, the soak); decoded only when the Workbench reads the trace.
    events: deque[bytes] = field(default_factory=deque)
    bytes: int = 0
    dropped: int = 0
    # Deliveries announced by emits and not started yet, per subscribing step: while any is
    # left the trace is still running even if no step is running at this instant.
    # Plain dicts: two Counters were most of the cost of starting a trace (one per request).
    pending: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    updated: int = 0

    def add_event(self, event: dict[str, Any]) -> int:
        """Keep ``event``; returns how many bytes the trace grew by (less when an old one went)."""
        return self.add_encoded(pydantic_core.to_json(event, fallback=repr), event["kind"], event["time"])

    def add_encoded(self, data: builtins.bytes, kind: str, time: int) -> int:
        """``add_event`` of an event already encoded as ``data``."""
        grew = len(data)
        events = self.events
        if len(events) >= self.max_events:
            grew -= len(events.popleft())
            self.dropped += 1
        events.append(data)
        self.bytes += grew
        counts = self.counts
        counts[kind] = counts.get(kind, 0) + 1
        self.updated = time
        return grew

    def span_of(self, step: str) -> Span | None:
        """The run an operation belongs to: the step's open span, else its latest one."""
        latest = None
        for span in reversed(self.spans):
            if span.step == step:
                if span.end is None:
                    return span
                latest = latest or span
        return latest

    @property
    def status(self) -> str:
        if any(s.end is None for s in self.spans) or any(n > 0 for n in self.pending.values()):
            return "running"
        last_runs = {s.step: s for s in self.spans}  # a retry that succeeded clears its step's failure
        return "error" if any(s.error for s in last_runs.values()) else "ok"

    def summary(self) -> dict[str, Any]:
        ends = [s.end for s in self.spans if s.end is not None]
        status = self.status
        end = max(ends) if ends and status != "running" else None
        first = self.spans[0] if self.spans else None
        return {
            "id": self.id, "start": self.start, "end": end, "durationMs": None if end is None else end - self.start,
            "status": status, "entry": first.step if first else None, "trigger": first.trigger if first else None,
            "steps": sorted({s.step for s in self.spans}), "spans": len(self.spans),
            "errors": sum(1 for s in self.spans if s.error), "counts": dict(self.counts), "updated": self.updated,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "spanList": [s.to_dict() for s in self.spans],
                "events": [json.loads(e) for e in self.events], "droppedEvents": self.dropped}


class TraceRecorder(Observer):
    """Records spans, operations and logs per trace id; see the module docstring."""

    records_operations = True

    def __init__(self, subscribers: Callable[[str], Iterable[str]] = lambda _: (), *, limits: Limits = DEFAULTS,
                 max_traces: int | None = None, max_events: int | None = None, max_logs: int | None = None,
                 max_bytes: int | None = None, max_log_bytes: int | None = None) -> None:
        """Bounds from ``limits`` (see the module docstring); a ``max_*`` given overrides its own."""
        self._subscribers = subscribers
        self._max_traces = max_traces or limits.workbench_traces
        self._max_events = max_events or limits.workbench_trace_events
        self._max_bytes = max_bytes or 1_000_000 * limits.workbench_trace_mb
        self._bytes = 0  # the JSON size of every kept trace's events
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._max_logs = max_logs or limits.workbench_logs
        self._max_log_bytes = max_log_bytes or 1_000_000 * limits.workbench_logs_mb
        # (entry as JSON, traceId, step, level): filtered without decoding, decoded when read.
        self._logs: deque[tuple[bytes, Any, Any, int]] = deque()
        self._log_bytes = 0
        self._lock = threading.Lock()
        self._seq = 0
        self._span_ids = 0
        self.listeners: list[Listener] = []
        # Whether any listener would use a trace's summary now: building it on every span's start
        # and end cost ~4/5 of the recorder's time per request with no Workbench page open
        # (bench/optimisations.md, round 2). The host points it at its feed's open pages.
        self.watching: Callable[[], bool] = lambda: bool(self.listeners)

    # -- Observer hooks ------------------------------------------------------------------------
    def step_started(self, trace_id: str, step: str, trigger: dict[str, Any]) -> Any:
        plain = jsonable(trigger)  # outside the lock: it touches nothing of the recorder's
        now = now_ms()
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:  # a new trace starts with its first span
                trace = self._traces[trace_id] = Trace(trace_id, now, self._max_events)
                while len(self._traces) > self._max_traces:
                    self._evict_oldest()
            self._span_ids += 1
            span = Span(self._span_ids, step, plain, now, self._next_seq())
            trace.spans.append(span)
            trace.updated = span.start
            if trigger.get("type") == "event" and trace.pending.get(step, 0) > 0:
                trace.pending[step] -= 1
            summary = trace.summary() if self.watching() else None
        if summary is not None:
            self._publish({"type": "trace", "data": summary})
        return span

    def step_finished(self, token: Any, trace_id: str, step: str, error: BaseException | None) -> None:
        if not isinstance(token, Span):
            return
        with self._lock:
            token.end = now_ms()
            token.end_seq = self._next_seq()
            token.error = describe_error(error) if error is not None else None
            trace = self._traces.get(trace_id)
            if trace is None:
                return  # evicted while the step ran
            trace.updated = token.end
            summary = trace.summary() if self.watching() else None
        if summary is not None:
            self._publish({"type": "trace", "data": summary})

    def operation(self, trace_id: str, step: str, kind: str, detail: dict[str, Any]) -> None:
        frames: list[dict[str, Any]] = []
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                return
            if kind == "emit" and "error" not in detail:
                for name in self._subscribers(str(detail.get("topic"))):
                    trace.pending[name] = trace.pending.get(name, 0) + 1
            span = trace.span_of(step)
            self._seq = seq = self._seq + 1  # _next_seq inline: a call less per operation (S8)
            now = int(time.time() * 1000)
            event = {"seq": seq, "time": now, "step": step, "span": span.id if span is not None else None,
                     "kind": kind}
            event.update(detail)
            data = _encode_small(event, detail)
            if data is None:
                for key, value in detail.items():  # names and ids (short strings) without a call each (S5)
                    event[key] = value if type(value) is str and len(value) <= _SHORT else _event_value(value)
                data = pydantic_core.to_json(event, fallback=repr)
            self._bytes += trace.add_encoded(data, kind, now)
            if self._bytes > self._max_bytes:
                self._grew(0)
            if self.watching():
                frames.append({"type": "trace", "data": trace.summary()})
        if kind == "state" and detail.get("op") in ("set", "delete", "clear") and "error" not in detail:
            frames.append({"type": "state", "data": {"op": detail["op"], "group": detail.get("group"),
                                                     "key": detail.get("key")}})
        for frame in frames:
            self._publish(frame)

    # -- log sink ------------------------------------------------------------------------------
    def log(self, entry: dict[str, Any]) -> None:
        """The runtime's log sink: every ``ctx.logger`` (and runtime) entry, as a dict."""
        frames: list[dict[str, Any]] = []
        with self._lock:
            record = {k: jsonable(v) for k, v in entry.items()}
            record["seq"] = self._next_seq()
            self._keep_log(record)
            frames.append({"type": "log", "data": record})
            trace = self._traces.get(str(entry.get("traceId")))
            if trace is not None:
                meta = {k: v for k, v in record.items() if k not in ("level", "time", "msg", "traceId", "step",
                                                                     "flows", "seq")}
                span = trace.span_of(str(entry.get("step")))
                self._grew(trace.add_event({"seq": record["seq"], "time": record.get("time", now_ms()),
                                            "step": entry.get("step"), "span": span.id if span else None,
                                            "kind": "log", "level": record.get("level"), "msg": record.get("msg"),
                                            "meta": meta}))
                if self.watching():
                    frames.append({"type": "trace", "data": trace.summary()})
        for frame in frames:
            self._publish(frame)

    # -- queries -------------------------------------------------------------------------------
    def traces(self, limit: int = 100, step: str | None = None) -> list[dict[str, Any]]:
        """Summaries, newest first; ``step`` keeps the traces in which that step ran."""
        with self._lock:
            found = [t.summary() for t in reversed(self._traces.values())
                     if step is None or any(s.step == step for s in t.spans)]
        return found[:limit]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        with self._lock:
            trace = self._traces.get(trace_id)
            return None if trace is None else trace.to_dict()

    def logs(self, trace_id: str | None = None, step: str | None = None, level: str | None = None,
             limit: int = 1000) -> list[dict[str, Any]]:
        """The newest ``limit`` entries matching every filter given, oldest first; ``level`` is a minimum."""
        floor = LEVELS.get(level or "debug", 0)
        if limit <= 0:
            return []
        with self._lock:
            found = [data for data, entry_trace, entry_step, entry_level in self._logs
                     if (trace_id is None or entry_trace == trace_id)
                     and (step is None or entry_step == step) and entry_level >= floor]
        return [json.loads(data) for data in found[-limit:]]

    # -- internals -----------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _trace(self, trace_id: str, create: bool = False) -> Trace | None:
        trace = self._traces.get(trace_id)
        if trace is None and create:
            trace = self._traces[trace_id] = Trace(trace_id, now_ms(), self._max_events)
            while len(self._traces) > self._max_traces:
                self._evict_oldest()
        return trace

    def _keep_log(self, record: dict[str, Any]) -> None:
        """Append to the ring; past its count or byte bound the oldest entries go (never the newest)."""
        data = pydantic_core.to_json(record, fallback=repr)
        self._logs.append((data, record.get("traceId"), record.get("step"), LEVELS.get(str(record.get("level")), 0)))
        self._log_bytes += len(data)
        while len(self._logs) > 1 and (len(self._logs) > self._max_logs or self._log_bytes > self._max_log_bytes):
            self._log_bytes -= len(self._logs.popleft()[0])

    def _grew(self, grew: int) -> None:
        """Account for a trace's growth; past the byte budget the oldest traces go (never the newest)."""
        self._bytes += grew
        while self._bytes > self._max_bytes and len(self._traces) > 1:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        _, trace = self._traces.popitem(last=False)
        self._bytes -= trace.bytes

    def memory(self) -> dict[str, int]:
        """What is kept against each bound (the Workbench health endpoint shows it)."""
        with self._lock:
            return {"traces": len(self._traces), "maxTraces": self._max_traces, "traceBytes": self._bytes,
                    "maxTraceBytes": self._max_bytes, "logs": len(self._logs), "maxLogs": self._max_logs,
                    "logBytes": self._log_bytes, "maxLogBytes": self._max_log_bytes}

    def _publish(self, frame: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(frame)
            except Exception:  # an Observer must not raise into a step's run
                traceback.print_exc()

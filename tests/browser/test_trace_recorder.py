"""What the Workbench's traces are built on, without a browser or a server: the operation hooks
of the core (``ctx.state`` and ``ctx.streams`` wrappers) and the bounded TraceRecorder."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from motia_runtime import EventConfig, StreamConfig, StreamError
from motia_runtime.adapters.memory import MemoryStateStore, MemoryStreamStore
from motia_runtime.context import TracedState
from motia_runtime.hosts.local.traces import MAX_VALUE_CHARS, TraceRecorder
from motia_runtime.observe import Observer
from motia_runtime.ports.events import Event, EventBus
from motia_runtime.project import Project, Step
from motia_runtime.runtime import Runtime
from motia_runtime.streams import TracedStreams


class Note(BaseModel):
    text: str


class NullBus(EventBus):
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Any) -> None:
        self.events.extend(events)


class Recording(Observer):
    records_operations = True

    def __init__(self) -> None:
        self.operations: list[tuple[str, str, str, dict[str, Any]]] = []

    def operation(self, trace_id: str, step: str, kind: str, detail: dict[str, Any]) -> None:
        self.operations.append((trace_id, step, kind, detail))


def runtime_with(observer: Observer | None) -> tuple[Runtime, Step]:
    step = Step(EventConfig(name="Writer", subscribes=["go"], emits=["done"]), lambda i, c: None, Path("w_step.py"))
    project = Project(Path("."), {"Writer": step}, {"notes": StreamConfig(name="notes", schema=Note)})
    runtime = Runtime(project, state=MemoryStateStore(), streams=MemoryStreamStore(), bus=NullBus(), observer=observer)
    return runtime, step


# -- the core's hooks ---------------------------------------------------------------------------------
def test_the_default_observer_leaves_state_and_streams_unwrapped() -> None:
    # The Lambda path: no per-call wrapper, the context holds the runtime's own objects.
    runtime, step = runtime_with(None)
    ctx = runtime.context(step, "T-1")
    assert ctx.state is runtime.state
    assert ctx.streams is runtime.context(step, "T-2").streams
    assert not isinstance(ctx.streams, TracedStreams)


async def test_state_stream_and_emit_calls_are_reported_with_their_trace_and_step() -> None:
    observer = Recording()
    runtime, step = runtime_with(observer)
    ctx = runtime.context(step, "T-1")
    assert isinstance(ctx.state, TracedState)
    await ctx.state.set("pets", "1", {"name": "Rex"})
    assert await ctx.state.get("pets", "1") == {"name": "Rex"}
    await ctx.streams.notes.set("T-1", "a", {"text": "hi"})
    await ctx.streams["notes"].getGroup("T-1")
    await ctx.streams.notes.send({"groupId": "T-1"}, {"type": "ping", "data": {}})
    await ctx.emit({"topic": "done", "data": {"ok": True}})
    assert [(o[0], o[1], o[2], o[3]["op"]) for o in observer.operations] == [
        ("T-1", "Writer", "state", "set"), ("T-1", "Writer", "state", "get"), ("T-1", "Writer", "stream", "set"),
        ("T-1", "Writer", "stream", "getGroup"), ("T-1", "Writer", "stream", "send"), ("T-1", "Writer", "emit", "emit"),
    ]
    assert observer.operations[0][3] == {"op": "set", "group": "pets", "key": "1", "value": {"name": "Rex"}}
    assert observer.operations[2][3] == {"op": "set", "stream": "notes", "groupId": "T-1", "id": "a",
                                         "data": {"text": "hi"}}


async def test_a_failing_call_is_reported_with_its_error_and_still_raises() -> None:
    observer = Recording()
    runtime, step = runtime_with(observer)
    ctx = runtime.context(step, "T-1")
    with pytest.raises(Exception, match="does not match"):
        await ctx.streams.notes.set("T-1", "a", {"wrong": 1})
    with pytest.raises(StreamError):
        await ctx.streams.notes.get("", "a")
    assert [o[3]["op"] for o in observer.operations] == ["set", "get"]
    assert all("error" in o[3] for o in observer.operations)
    assert "ValidationError" in observer.operations[0][3]["error"]


# -- the recorder ---------------------------------------------------------------------------------------
def test_a_trace_runs_until_every_announced_delivery_has_started() -> None:
    recorder = TraceRecorder(lambda topic: ["Reminder", "Enrich"] if topic == "pet.created" else [])
    api = recorder.step_started("T-1", "CreatePet", {"type": "api", "path": "/pets"})
    recorder.operation("T-1", "CreatePet", "emit", {"op": "emit", "topic": "pet.created", "data": {}})
    recorder.step_finished(api, "T-1", "CreatePet", None)
    # No step is running, but two events are still queued for it.
    assert recorder.trace("T-1")["status"] == "running"
    for name in ("Reminder", "Enrich"):
        run = recorder.step_started("T-1", name, {"type": "event", "topic": "pet.created"})
        recorder.step_finished(run, "T-1", name, None)
    trace = recorder.trace("T-1")
    assert trace["status"] == "ok"
    assert [s["step"] for s in trace["spanList"]] == ["CreatePet", "Reminder", "Enrich"]
    assert trace["durationMs"] == trace["end"] - trace["start"]
    assert trace["events"][0]["span"] == trace["spanList"][0]["id"]


def test_a_failure_is_kept_with_its_stack_and_a_successful_retry_clears_the_status() -> None:
    recorder = TraceRecorder()
    run = recorder.step_started("T-1", "Job", {"type": "event", "topic": "go"})
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        recorder.step_finished(run, "T-1", "Job", exc)
    trace = recorder.trace("T-1")
    assert trace["status"] == "error" and trace["errors"] == 1
    error = trace["spanList"][0]["error"]
    assert error["type"] == "RuntimeError" and error["message"] == "boom" and "Traceback" in error["stack"]
    retry = recorder.step_started("T-1", "Job", {"type": "event", "topic": "go"})
    recorder.step_finished(retry, "T-1", "Job", None)
    assert recorder.trace("T-1")["status"] == "ok"
    assert [s["status"] for s in recorder.trace("T-1")["spanList"]] == ["error", "ok"]


def test_memory_is_bounded_oldest_traces_and_events_go_first() -> None:
    recorder = TraceRecorder(max_traces=3, max_events=5, max_logs=4)
    for n in range(5):
        recorder.step_started(f"T-{n}", "S", {"type": "cron"})
    assert [t["id"] for t in recorder.traces()] == ["T-4", "T-3", "T-2"]
    assert recorder.trace("T-0") is None
    for n in range(8):
        recorder.operation("T-4", "S", "state", {"op": "set", "group": "g", "key": str(n), "value": n})
    trace = recorder.trace("T-4")
    assert [e["key"] for e in trace["events"]] == ["3", "4", "5", "6", "7"]
    assert trace["droppedEvents"] == 3
    assert trace["counts"]["state"] == 8
    for n in range(6):
        recorder.log({"level": "info", "time": n, "msg": f"m{n}"})
    assert [e["msg"] for e in recorder.logs()] == ["m2", "m3", "m4", "m5"]


def test_large_and_odd_values_are_stored_as_json_previews() -> None:
    recorder = TraceRecorder()
    recorder.step_started("T-1", "S", {"type": "cron"})
    recorder.operation("T-1", "S", "stream", {"op": "set", "data": "x" * (MAX_VALUE_CHARS * 2)})
    recorder.log({"level": "info", "time": 1, "msg": "odd", "traceId": "T-1", "step": "S", "thing": object()})
    trace = recorder.trace("T-1")
    stored = trace["events"][0]["data"]
    assert stored["__truncated__"] > MAX_VALUE_CHARS and len(stored["preview"]) == MAX_VALUE_CHARS
    assert trace["events"][1]["meta"]["thing"].startswith("<object object")


def test_logs_are_filtered_by_trace_step_and_minimum_level_and_reach_their_trace() -> None:
    recorder = TraceRecorder()
    recorder.step_started("T-1", "A", {"type": "cron"})
    entries = [("T-1", "A", "debug"), ("T-1", "A", "info"), ("T-1", "B", "warn"), ("T-2", "A", "error")]
    for trace_id, step, level in entries:
        recorder.log({"level": level, "time": 1, "msg": f"{trace_id} {step} {level}", "traceId": trace_id,
                      "step": step})
    assert [e["msg"] for e in recorder.logs(trace_id="T-1")] == ["T-1 A debug", "T-1 A info", "T-1 B warn"]
    assert [e["msg"] for e in recorder.logs(step="A", level="info")] == ["T-1 A info", "T-2 A error"]
    assert [e["msg"] for e in recorder.logs(level="warn", limit=1)] == ["T-2 A error"]
    seqs = [e["seq"] for e in recorder.logs()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # Entries of a recorded trace are also part of it (T-2 was never started, so it has no trace).
    assert [e["level"] for e in recorder.trace("T-1")["events"]] == ["debug", "info", "warn"]


def test_listeners_get_frames_and_a_failing_listener_cannot_break_a_step() -> None:
    recorder = TraceRecorder()
    frames: list[dict[str, Any]] = []
    recorder.listeners.append(lambda frame: 1 / 0)
    recorder.listeners.append(frames.append)
    run = recorder.step_started("T-1", "S", {"type": "cron"})
    recorder.operation("T-1", "S", "state", {"op": "set", "group": "g", "key": "k", "value": 1})
    recorder.log({"level": "info", "time": 1, "msg": "hi", "traceId": "T-1", "step": "S"})
    recorder.step_finished(run, "T-1", "S", None)
    assert [f["type"] for f in frames] == ["trace", "trace", "state", "log", "trace", "trace"]
    assert frames[2]["data"] == {"op": "set", "group": "g", "key": "k"}
    assert frames[-1]["data"]["status"] == "ok"


def test_logs_from_worker_threads_are_all_kept() -> None:
    # Plain ``def`` handlers run in threads and log from there.
    recorder = TraceRecorder(max_logs=10_000)
    recorder.step_started("T-1", "S", {"type": "cron"})

    def write(n: int) -> None:
        for i in range(200):
            recorder.log({"level": "info", "time": i, "msg": f"{n}-{i}", "traceId": "T-1", "step": "S"})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recorder.logs(limit=10_000)) == 1600
    assert len({e["seq"] for e in recorder.logs(limit=10_000)}) == 1600
    assert recorder.trace("T-1")["counts"]["log"] == 1600

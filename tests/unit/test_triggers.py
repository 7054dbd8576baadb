"""Stream and state triggers, state.update and steps with several triggers, on the local event
bus (real workers over an in-memory queue: retries, backoff, dead letters and FIFO groups)."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.adapters.memory import MemoryStateStore, MemoryStreamStore
from motia_runtime.adapters.memory.queue import MemoryQueueStore
from motia_runtime.dispatch import ApiRequest, run_api, run_cron
from motia_runtime.errors import ConfigError, StateError
from motia_runtime.hosts.local.bus import LocalEventBus
from motia_runtime.limits import DEFAULTS, Limits
from motia_runtime.project import load_project
from motia_runtime.runtime import Runtime

STREAM = """
from pydantic import BaseModel
from motia_runtime import StreamConfig

class Item(BaseModel):
    n: int = 0
    note: str = ""

config = StreamConfig(name="items", schema=Item, public=True)
"""


def write_project(root: Path, steps: dict[str, str], stream: str = STREAM) -> Path:
    (root / "streams").mkdir(parents=True)
    (root / "streams" / "items_stream.py").write_text(textwrap.dedent(stream))
    (root / "functions").mkdir()
    for name, text in steps.items():
        (root / "functions" / f"{name}_step.py").write_text(textwrap.dedent(text))
    return root


class App:
    def __init__(self, root: Path, limits: Limits = DEFAULTS) -> None:
        self.queue = MemoryQueueStore()
        self.bus = LocalEventBus(self.queue, limits)
        self.runtime = Runtime(load_project(root), state=MemoryStateStore(), streams=MemoryStreamStore(), bus=self.bus,
                               limits=limits)

    async def __aenter__(self) -> App:
        self.bus.start(self.runtime)
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.runtime.aclose()

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until no message is queued or in flight."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            busy = [m for m in self.queue.list(limit=100000) if m.status != "dead"]
            if not busy and not any(w.running for w in self.bus.workers.values()):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"still busy: {self.queue.list(limit=20)}")

    def dead(self) -> list[Any]:
        return self.queue.list(status="dead", limit=1000)

    async def call(self, step: str, body: Any = None) -> Any:
        request: ApiRequest = {"pathParams": {}, "queryParams": {}, "body": body, "headers": {}, "rawBody": ""}
        return await run_api(self.runtime, self.runtime.project.steps[step], request, "TRACE-1")


RECORDER = """
SEEN = []

async def handler(change, ctx):
    SEEN.append((ctx.trace_id, ctx.trigger["type"], change))
"""


def seen(name: str) -> list[Any]:
    import importlib

    return importlib.import_module(f"functions.{name}_step").SEEN


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import sys

    root = tmp_path / "app"

    def make(steps: dict[str, str], stream: str = STREAM) -> Path:
        write_project(root, steps, stream)
        monkeypatch.syspath_prepend(str(root))
        return root

    before = set(sys.modules)
    yield make
    # Forget the modules this project's files became (functions.*, streams.*), and only those: the
    # repository's own step modules, imported by other tests, must stay the objects they hold.
    # (``functions`` and ``streams`` are namespace packages shared with the repository's project:
    # they stay, and this project's file names differ from the repository's.)
    for name, module in list(sys.modules.items()):
        if name not in before and str(getattr(module, "__file__", "") or "").startswith(str(root)):
            del sys.modules[name]


async def test_stream_trigger_gets_each_change_in_order_with_old_and_new(project) -> None:
    root = project({
        "writer": """
            config = {"type": "api", "name": "Writer", "path": "/w", "method": "POST"}
            async def handler(req, ctx):
                s = ctx.streams.items
                await s.set("g1", "a", {"n": 1})
                await s.update("g1", "a", [{"type": "increment", "path": "n", "by": 2}])
                await s.send({"groupId": "g1", "id": "a"}, {"type": "ping", "data": {"x": 1}})
                await s.delete("g1", "a")
                await s.set("g2", "b", {"n": 9})
                return {"status": 200, "body": {}}
        """,
        "watch": 'config = {"type": "stream", "name": "Watch", "streamName": "items", "groupId": "g1"}\n' + RECORDER,
    })
    async with App(root) as app:
        assert (await app.call("Writer")).status == 200
        await app.settle()
    changes = seen("watch")
    assert [c["event"]["type"] for _, _, c in changes] == ["create", "update", "event", "delete"]
    assert {trace for trace, _, _ in changes} == {"TRACE-1"}  # the originating trace
    assert {kind for _, kind, _ in changes} == {"stream"}
    create, update, event, delete = (c for _, _, c in changes)
    assert create["old_value"] is None and create["new_value"]["n"] == 1
    assert update["old_value"]["n"] == 1 and update["new_value"]["n"] == 3
    assert event["event"]["event"] == {"type": "ping", "data": {"x": 1}}
    assert delete["old_value"]["n"] == 3 and delete["new_value"] is None
    assert [c["depth"] for _, _, c in changes] == [1, 1, 1, 1]
    assert all(c["groupId"] == "g1" and c["streamName"] == "items" for _, _, c in changes)  # g2 filtered out


async def test_a_trigger_that_sets_only_its_handler_settings_keeps_its_fifo_order(project) -> None:
    # FIFO per item is the default; giving infrastructure.handler alone (a timeout) used to make
    # the queue standard, and an item's changes ran at once, finishing out of order.
    root = project({
        "writer": """
            config = {"type": "api", "name": "Writer", "path": "/w", "method": "POST"}
            async def handler(req, ctx):
                for n in (1, 2, 3):
                    await ctx.streams.items.set("g", "a", {"n": n})
                return {"status": 200, "body": {}}
        """,
        "slowwatch": """
            import asyncio

            config = {"type": "stream", "name": "SlowWatch", "streamName": "items", "events": ["create", "update"],
                      "infrastructure": {"handler": {"timeout": 10}}}
            SEEN = []

            async def handler(change, ctx):
                if change["new_value"]["n"] == 1:
                    await asyncio.sleep(0.2)  # the first change is slow: the others wait for it
                SEEN.append(change["new_value"]["n"])
        """,
    })
    async with App(root) as app:
        assert app.runtime.project.steps["SlowWatch"].config.infrastructure.queue.type == "fifo"
        await app.call("Writer")
        await app.settle()
    assert seen("slowwatch") == [1, 2, 3]


async def test_events_filter_and_condition(project) -> None:
    root = project({
        "writer": """
            config = {"type": "api", "name": "Writer", "path": "/w", "method": "POST"}
            async def handler(req, ctx):
                for n in range(5):
                    await ctx.streams.items.set("g", "a", {"n": n})
                await ctx.streams.items.delete("g", "a")
                return {"status": 200, "body": {}}
        """,
        "odd": """
            async def odd(change, ctx):
                return change["new_value"]["n"] % 2 == 1
            config = {"type": "stream", "name": "Odd", "streamName": "items", "events": ["update"], "condition": odd}
            SEEN = []
            async def handler(change, ctx):
                SEEN.append((ctx.trace_id, ctx.trigger["type"], change))
        """,
    })
    async with App(root) as app:
        await app.call("Writer")
        await app.settle()
    assert [c["new_value"]["n"] for _, _, c in seen("odd")] == [1, 3]


async def test_state_trigger_and_update(project) -> None:
    root = project({
        "writer": """
            config = {"type": "api", "name": "Writer", "path": "/w", "method": "POST"}
            async def handler(req, ctx):
                await ctx.state.set("pets", "p1", {"status": "new"})
                value = await ctx.state.update("pets", "p1", [{"type": "set", "path": "status", "value": "ok"},
                                                             {"type": "increment", "path": "visits"}])
                await ctx.state.set("other", "x", 1)
                await ctx.state.delete("pets", "p1")
                return {"status": 200, "body": value}
        """,
        "watch": 'config = {"type": "state", "name": "Watch", "group": "pets"}\n' + RECORDER,
    })
    async with App(root) as app:
        response = await app.call("Writer")
        assert response.body == {"status": "ok", "visits": 1}
        await app.settle()
    changes = [c for _, _, c in seen("watch")]
    assert [c["event_type"] for c in changes] == ["state:created", "state:updated", "state:deleted"]
    assert changes[0]["old_value"] is None and changes[0]["new_value"] == {"status": "new"}
    assert changes[1]["old_value"] == {"status": "new"} and changes[1]["new_value"] == {"status": "ok", "visits": 1}
    assert changes[2]["old_value"] == {"status": "ok", "visits": 1} and changes[2]["new_value"] is None
    assert {(c["group_id"], c["item_id"], c["scope"], c["key"]) for c in changes} == {("pets", "p1", "pets", "p1")}


async def test_state_update_is_atomic_and_refuses_non_objects() -> None:
    from motia_runtime.state import State

    state = State(MemoryStateStore())
    await asyncio.gather(*(state.update("g", "k", [{"type": "increment", "path": "n"}]) for _ in range(50)))
    assert await state.get("g", "k") == {"n": 50}
    await state.set("g", "num", 3)
    with pytest.raises(StateError, match="g/num: update needs an object value"):
        await state.update("g", "num", [{"type": "increment", "path": "n"}])
    with pytest.raises(StateError, match="unknown update op"):
        await state.update("g", "k", [{"type": "bogus", "path": "n"}])
    assert await state.get("g", "k") == {"n": 50}  # nothing written by a failed update


async def test_state_update_ops_on_the_wrong_type_fail_naming_the_op_and_write_nothing() -> None:
    from motia_runtime.state import State

    state = State(MemoryStateStore())
    await state.set("g", "k", {"total": 0, "done": True, "tags": ""})
    # merge onto 0 or "" used to replace it with an object; increment of a flag stored 2
    for ops, message in [
        ([{"type": "set", "path": "x", "value": 1}, {"type": "merge", "path": "total", "value": {"a": 1}}],
         "g/k: update op 1: merge at 'total' needs objects on both sides, got int"),
        ([{"type": "merge", "path": "tags", "value": {"a": 1}}], "merge at 'tags' needs objects"),
        ([{"type": "increment", "path": "done"}], "update op 0: increment at 'done' needs numbers, got bool"),
        ([{"type": "increment", "path": "total", "by": True}], "by=bool"),
        ({"type": "increment", "path": "total"}, "update ops must be a list of ops, got dict"),
        ([None], "update op 0: an op must be an object"),
        ([{"type": "set", "path": ["a", "b"], "value": 1}], "update op 0: path must be a dot-separated string"),
    ]:
        with pytest.raises(StateError, match=re.escape(message)):
            await state.update("g", "k", ops)  # type: ignore[arg-type]
    assert await state.get("g", "k") == {"total": 0, "done": True, "tags": ""}
    # a missing or null field is a fresh one; a remove under a missing path has nothing to remove
    assert await state.update("g", "k", [{"type": "merge", "path": "meta", "value": {"a": 1}},
                                         {"type": "remove", "path": "nothere.deeper"}]) == \
        {"total": 0, "done": True, "tags": "", "meta": {"a": 1}}


async def test_failing_trigger_is_retried_then_dead_lettered(project) -> None:
    root = project({
        "writer": """
            config = {"type": "api", "name": "Writer", "path": "/w", "method": "POST"}
            async def handler(req, ctx):
                await ctx.streams.items.set("g", "a", {"n": 1})
                return {"status": 200, "body": {}}
        """,
        "boom": """
            CALLS = []
            config = {"type": "stream", "name": "Boom", "streamName": "items",
                      "infrastructure": {"queue": {"maxRetries": 2, "backoffDelayMs": 1}}}
            async def handler(change, ctx):
                CALLS.append(change["event"]["type"])
                raise RuntimeError("no luck")
        """,
    })
    async with App(root) as app:
        await app.call("Writer")
        await app.settle()
        dead = app.dead()
    import importlib

    assert importlib.import_module("functions.boom_step").CALLS == ["create"] * 3
    assert len(dead) == 1 and dead[0].step == "Boom" and "no luck" in (dead[0].last_error or "")


async def test_a_trigger_loop_is_stopped_with_a_clear_error(project) -> None:
    root = project({
        "writer": """
            config = {"type": "api", "name": "Writer", "path": "/w", "method": "POST"}
            async def handler(req, ctx):
                await ctx.streams.items.set("g", "a", {"n": 0})
                return {"status": 200, "body": {}}
        """,
        "loop": """
            config = {"type": "stream", "name": "Loop", "streamName": "items",
                      "infrastructure": {"queue": {"maxRetries": 0}}}
            async def handler(change, ctx):
                await ctx.streams.items.update("g", "a", [{"type": "increment", "path": "n"}])
        """,
    })
    async with App(root, Limits(trigger_max_depth=5)) as app:  # MOTIA_TRIGGER_MAX_DEPTH=5
        await app.call("Writer")
        await app.settle()
        item = await app.runtime.streams["items"].get("g", "a")
        dead = app.dead()
    assert item["n"] == 4  # hops 1-4 wrote; hop 5's write would have started hop 6
    assert len(dead) == 1
    assert "TriggerLoopError" in dead[0].last_error and "MOTIA_TRIGGER_MAX_DEPTH" in dead[0].last_error


async def test_a_step_with_several_triggers(project) -> None:
    root = project({
        "multi": """
            from motia_runtime.triggers import http, queue, stream, cron, state
            CALLS = []
            config = {
                "name": "Multi",
                "triggers": [http("POST", "/m"), queue("ping"), stream("items", events=["create"]),
                             cron("* * * * *", condition=lambda _input, ctx: True), state(key="k")],
                "emits": ["ping"],
                "flows": ["f"],
            }
            async def handler(input, ctx):
                CALLS.append((ctx.trigger["type"], ctx.trigger["index"]))
                if ctx.trigger["type"] == "http":
                    await ctx.emit({"topic": "ping", "data": {}})
                    await ctx.streams.items.set("g", "a", {"n": 1})
                    await ctx.state.set("s", "k", 1)
                    return {"status": 201, "body": {"ok": True}}
        """,
    })
    async with App(root) as app:
        steps = app.runtime.project.steps
        assert sorted(steps) == ["Multi.api", "Multi.cron", "Multi.event", "Multi.state", "Multi.stream"]
        assert all(s.config.flows == ["f"] for s in steps.values())
        response = await app.call("Multi.api")
        assert response.status == 201
        await run_cron(app.runtime, steps["Multi.cron"])
        await app.settle()
    import importlib

    calls = importlib.import_module("functions.multi_step").CALLS
    assert sorted(calls) == [("cron", 3), ("http", 0), ("queue", 1), ("state", 4), ("stream", 2)]


@pytest.mark.parametrize(("config", "field", "message"), [
    ('{"type": "stream", "name": "S", "streamName": "nope"}', "streamName", "no stream named 'nope'"),
    ('{"type": "stream", "name": "S", "streamName": "items", "events": ["created"]}', "events.0", "Input should be"),
    ('{"type": "stream", "name": "S", "streamName": "items", "condition": 3}', "condition", "callable"),
    ('{"type": "state", "name": "S", "subscribes": ["x"]}', "(config)", "does not take subscribes"),
    ('{"name": "M", "triggers": [{"type": "http", "method": "GET", "path": "/x"}, {"type": "sms"}]}',
     "triggers.1.type", "each trigger"),
    ('{"name": "M", "triggers": [{"type": "stream", "streamName": "zz"}]}', "triggers.0.streamName", "no stream"),
    ('{"name": "M", "triggers": [{"type": "http", "method": "GET", "path": "/x", "condition": len}]}',
     "triggers.0.condition", "answers every request"),
    ('{"name": "M", "type": "api", "triggers": []}', "type", "not both"),
])
def test_bad_trigger_configs_name_file_and_field(project, config: str, field: str, message: str) -> None:
    root = project({"bad": f"config = {config}\nasync def handler(a, b): pass\n"})
    with pytest.raises(ConfigError) as info:
        load_project(root)
    assert info.value.file == "functions/bad_step.py"
    assert info.value.field == field, str(info.value)
    assert message in str(info.value)


async def test_cron_slots_missed_while_the_loop_was_held_are_skipped_not_run_at_once(project) -> None:
    import time

    from motia_runtime.hosts.local.scheduler import CronScheduler

    root = project({"tick": """
        config = {"type": "cron", "name": "Tick", "cron": "* * * * * *", "flows": ["f"]}
        RUNS = []

        async def handler(ctx):
            RUNS.append(ctx.trace_id)
    """})
    import importlib

    async with App(root) as app:
        scheduler = CronScheduler(app.runtime)
        scheduler.start()
        try:
            await asyncio.sleep(1.05 - time.time() % 1)  # just past a slot: the next is a second away
            time.sleep(4.2)  # the loop held past four slots (as a laptop asleep, or a blocking handler)
            await asyncio.sleep(0.3)
            runs = importlib.import_module("functions.tick_step").RUNS
            # The late slot, once (and the next, if this machine is slow); were all four at once.
            assert 1 <= len(runs) <= 2
            before = len(runs)
            await asyncio.sleep(1.2)
            assert len(runs) > before  # and the schedule goes on
        finally:
            await scheduler.stop()

"""Helpers for the pet shelter tests: a stream group watcher, the fake model's script, an in-process runtime."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import websockets

from motia_runtime.adapters.memory import MemoryStateStore, MemoryStreamStore
from motia_runtime.config import TRIGGER_TOPIC_PREFIX
from motia_runtime.dispatch import ApiRequest, ApiResponse, run_api, run_cron, run_event
from motia_runtime.ports.events import Event, EventBus
from motia_runtime.project import load_project
from motia_runtime.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]
STREAM = "petCreation"


# -- watching a stream group over the real WebSocket -----------------------------------------------
class GroupWatcher:
    """Joins one stream group and keeps what a ``useStreamGroup`` client would: items, plus history.

    ``history[id]`` is every message text the item had, in order, starting with the ``sync``
    snapshot; ``first_seen`` lists item ids in the order they appeared.
    """

    def __init__(self, ws_url: str, group: str, stream: str = STREAM) -> None:
        self.ws_url, self.group, self.stream = ws_url, group, stream
        self.items: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[str]] = defaultdict(list)
        self.first_seen: list[str] = []
        self.frames: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._conn: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> GroupWatcher:
        self._conn = await websockets.connect(self.ws_url)
        join = {"streamName": self.stream, "groupId": self.group, "subscriptionId": str(uuid.uuid4())}
        await self._conn.send(json.dumps({"type": "join", "data": join}))
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._reader is not None
        self._reader.cancel()
        await self._conn.close()

    def _record(self, item: dict[str, Any]) -> None:
        if item["id"] not in self.items:
            self.first_seen.append(item["id"])
        self.items[item["id"]] = item
        message = item.get("message")  # petCreation items have one; other streams' may not
        if not self.history[item["id"]] or self.history[item["id"]][-1] != message:
            self.history[item["id"]].append(message)

    async def _read(self) -> None:
        async for raw in self._conn:
            frame = json.loads(raw)
            self.frames.append(frame)
            event = frame["event"]
            if event["type"] == "sync":
                for item in sorted(event["data"], key=lambda i: i["_createdAt"]):
                    self._record(item)
            elif event["type"] in ("create", "update"):
                self._record(event["data"])
            elif event["type"] == "delete":
                self.items.pop(event["data"]["id"], None)
            self._changed.set()

    def message(self, item_id: str) -> str | None:
        item = self.items.get(item_id)
        return item["message"] if item else None

    async def wait_for(self, condition: Callable[[GroupWatcher], bool], timeout: float = 15) -> None:
        async def loop() -> None:
            while not condition(self):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(loop(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out; items: {json.dumps(self.items, indent=1, ensure_ascii=False)}") from None


# -- the fake model's answers -------------------------------------------------------------------------
def model_profile(name: str) -> dict[str, Any]:
    """What the fake model answers to an enrichment prompt for ``name``."""
    return {
        "bio": f"{name} is a \"gentle\" soul who loves long walks, naps in the sun and meeting new friends.",
        "breedGuess": "Labrador Retriever mix",
        "temperamentTags": ["gentle", "curious", "playful"],
        "adopterHints": f"{name} suits a family with a garden and time for daily walks.",
    }


def pet_name_in(prompt_messages: Sequence[dict[str, Any]]) -> str:
    for message in prompt_messages:
        for line in str(message.get("content", "")).splitlines():
            if line.startswith("- Name: "):
                return line.removeprefix("- Name: ").strip()
    return ""


class ModelScript:
    """Decides the fake model's reply per request: a profile for enrichment, ``agent_reply`` for agents.

    A pet whose name starts with ``Garbled`` gets a reply that is not JSON, to exercise the fallback.
    """

    def __init__(self) -> None:
        self.agent_reply = json.dumps({"chosenEmit": "emit.health.no_treatment_needed", "rationale": "All clear."})

    def __call__(self, body: dict[str, Any]) -> str:
        if body.get("stream"):
            name = pet_name_in(body["messages"])
            if name.startswith("Garbled"):
                return "Sorry, I can only answer in prose today."
            return "```json\n" + json.dumps(model_profile(name), indent=2) + "\n```"
        return self.agent_reply


# -- an in-process runtime on memory adapters ----------------------------------------------------------
class InlineBus(EventBus):
    """Keeps published events; ``drain`` delivers them to subscribers one at a time, in order.

    ``pending`` holds emitted events, ``pending_triggers`` the stream and state triggers the
    writes queued (steps the tests do not call by hand), so a test can look at what a step emitted.
    """

    def __init__(self) -> None:
        self.pending: list[Event] = []
        self.pending_triggers: list[Event] = []
        self.delivered: list[Event] = []
        self.runtime: Runtime | None = None

    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            is_trigger = event.topic.startswith(TRIGGER_TOPIC_PREFIX)
            (self.pending_triggers if is_trigger else self.pending).append(event)

    async def drain(self, limit: int = 400) -> list[Event]:
        assert self.runtime is not None
        handled: list[Event] = []
        while self.pending or self.pending_triggers:
            assert len(handled) < limit, "events keep coming: a loop?"
            event = (self.pending or self.pending_triggers).pop(0)
            for step in self.runtime.project.subscribers(event.topic):
                await run_event(self.runtime, step, event)
            handled.append(event)
            self.delivered.append(event)
        return handled

    def topics(self) -> list[str]:
        """The emitted topics delivered, in order (trigger events, which no step emits, left out)."""
        return [e.topic for e in self.delivered if not e.topic.startswith(TRIGGER_TOPIC_PREFIX)]


class MemoryApp:
    """The whole project on memory adapters, driven by calling steps directly."""

    def __init__(self) -> None:
        self.bus = InlineBus()
        self.runtime = Runtime(load_project(REPO), state=MemoryStateStore(), streams=MemoryStreamStore(),
                               bus=self.bus)
        self.bus.runtime = self.runtime

    def step(self, name: str) -> Any:
        return self.runtime.project.steps[name]

    async def call(self, name: str, body: Any = None, path_params: dict[str, str] | None = None,
                   trace_id: str | None = None) -> ApiResponse:
        request: ApiRequest = {"pathParams": path_params or {}, "queryParams": {}, "body": body, "headers": {},
                               "rawBody": json.dumps(body) if body is not None else ""}
        return await run_api(self.runtime, self.step(name), request, trace_id)

    async def event(self, topic: str, data: dict[str, Any], trace_id: str = "TEST-1") -> None:
        event = Event(topic, data, trace_id, data.get("petId"))
        for step in self.runtime.project.subscribers(topic):
            await run_event(self.runtime, step, event)

    async def cron(self, name: str) -> str:
        return await run_cron(self.runtime, self.step(name))

    async def group(self, group_id: str) -> dict[str, dict[str, Any]]:
        items = await self.runtime.streams[STREAM].get_group(group_id)
        return {item["id"]: item for item in items}

    async def pet(self, pet_id: str) -> dict[str, Any] | None:
        return await self.runtime.state.get("pets", pet_id)

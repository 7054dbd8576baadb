"""Streams' join and leave hooks on the harness: on_join in the WebSocket function (refusing, or
writing a viewer count), on_leave from the connections table's stream in the triggers function,
once per removed subscription row whatever removed it (leave, $disconnect, a 410 in the fan-out)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from motia_runtime.testing import CloudSim

FILES = {
    "streams/hook_room_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Msg(BaseModel):
            text: str = ""

        async def on_join(subscription, auth_context, ctx):
            if subscription["groupId"] == "closed":
                return {"unauthorized": True, "reason": "this room is closed"}
            await ctx.streams.hookViewers.update("rooms", subscription["groupId"], [{"type": "increment", "path": "n"}])

        async def on_leave(subscription, auth_context, ctx):
            await ctx.streams.hookViewers.update("rooms", subscription["groupId"], [{"type": "decrement", "path": "n"}])

        config = StreamConfig(name="hookRoom", schema=Msg, public=True, on_join=on_join, on_leave=on_leave)
    ''',
    "streams/hook_viewers_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Count(BaseModel):
            n: int = 0

        config = StreamConfig(name="hookViewers", schema=Count, public=True)
    ''',
    "functions/hook_case/say_step.py": '''
        config = {"type": "api", "name": "Say", "path": "/say", "method": "POST"}

        async def handler(req, ctx):
            await ctx.streams.hookRoom.set("lobby", "m", {"text": req["body"]["text"]})
            return {"status": 200, "body": {}}
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("hooks", FILES)) as sim:
        yield sim


def viewers(sim: CloudSim, room: str) -> int:
    item = sim.run(lambda runtime: runtime.streams["hookViewers"].get("rooms", room))
    return 0 if item is None else int(item["n"])


def test_the_connections_table_streams_its_removals_to_the_triggers_function(sim: CloudSim) -> None:
    assert "connections-table" in sim.resources.stream_arns and "triggers" in sim.resources.functions


def test_on_join_refuses_with_its_reason(sim: CloudSim) -> None:
    client = sim.connect()
    client.join("hookRoom", "closed")
    assert client.errors() == [
        {"code": "STREAM_ACCESS_DENIED", "message": "this room is closed"}]
    assert viewers(sim, "closed") == 0


def test_on_leave_runs_once_per_subscription_whatever_removes_it(sim: CloudSim) -> None:
    a, b, c = sim.connect(), sim.connect(), sim.connect()
    sub = a.join("hookRoom", "lobby")
    b.join("hookRoom", "lobby")
    b.join("hookRoom", "lobby")
    c.join("hookRoom", "lobby")
    assert viewers(sim, "lobby") == 4
    a.leave(sub)
    sim.run_until_idle()
    assert viewers(sim, "lobby") == 3
    b.disconnect()  # $disconnect: both of b's subscriptions
    sim.run_until_idle()
    assert viewers(sim, "lobby") == 1
    sim.gone(c.connection_id)  # c vanished: the fan-out's 410 removes it on the next push
    sim.http("POST", "/say", json={"text": "hi"})
    sim.run_until_idle()
    assert viewers(sim, "lobby") == 0
    sim.run_until_idle()
    assert viewers(sim, "lobby") == 0  # nothing ran twice

"""Presence on the harness: members kept in the state table, presence events pushed by the fan-out,
and a member removed whatever removed its subscription ($disconnect here; 410 takes the same path
through the connections table's stream)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.testing import CloudSim

FILES = {
    "streams/pr_lobby_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import Presence, StreamConfig

        class Msg(BaseModel):
            text: str = ""

        config = StreamConfig(name="prLobby", schema=Msg, public=True, presence=Presence())
    ''',
    "functions/pr_case/noop_step.py": '''
        config = {"type": "api", "name": "PrCaseNoop", "path": "/noop", "method": "GET"}

        async def handler(req, ctx):
            return {"status": 200, "body": {}}
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("presence", FILES)) as sim:
        yield sim


def presence_events(client: Any) -> list[tuple[str, Any]]:
    return [(f["event"]["event"]["type"], f["event"]["event"]["data"]) for f in client.frames
            if f["event"]["type"] == "event" and f["event"]["event"]["type"].startswith("presence.")]


def test_presence_on_aws_follows_joins_and_disconnects(sim: CloudSim) -> None:
    a, b = sim.connect(), sim.connect()
    a.join("prLobby", "g", subscription_id="sa")
    sim.run_until_idle()
    b.join("prLobby", "g", subscription_id="sb")
    sim.run_until_idle()
    sync = [data for kind, data in presence_events(b) if kind == "presence.sync"]
    assert [m["subscriptionId"] for m in sync[0]] == ["sa"]
    assert [d["subscriptionId"] for k, d in presence_events(a) if k == "presence.join"] == ["sa", "sb"]
    b.disconnect()
    sim.run_until_idle()
    assert [d["subscriptionId"] for k, d in presence_events(a) if k == "presence.leave"] == ["sb"]
    members = sim.run(lambda runtime: runtime.state_store.get_group("__presence:prLobby:g"))
    assert [m["subscriptionId"] for m in members] == ["sa"]

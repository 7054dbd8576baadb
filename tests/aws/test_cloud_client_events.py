"""Client events on the harness: the WebSocket function checks and sends them (the same session as
locally), the fan-out delivers them to the group's subscribers; the rate budget lives on the
connection's record, shared by every Lambda serving the connection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from motia_runtime.testing import CloudSim

FILES = {
    "streams/ce_chat_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import ClientEvents, StreamConfig

        class Msg(BaseModel):
            text: str = ""

        class Typing(BaseModel):
            user: str

        config = StreamConfig(name="ceChat", schema=Msg, public=True,
                              client_events=ClientEvents(types=["typing"], schema=Typing, rate_per_s=0.01, burst=2))
    ''',
    "functions/ce_case/noop_step.py": '''
        config = {"type": "api", "name": "CeNoop", "path": "/noop", "method": "GET"}

        async def handler(req, ctx):
            return {"status": 200, "body": {}}
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("ce", FILES)) as sim:
        yield sim


def event(client, group: str, data: dict) -> None:  # type: ignore[no-untyped-def]
    client.send_raw(json.dumps({"type": "event", "data": {"streamName": "ceChat", "groupId": group,
                                                           "event": {"type": "typing", "data": data}}}))


def test_a_client_event_reaches_the_groups_subscribers_and_the_rate_is_per_connection(sim: CloudSim) -> None:
    alice, bob = sim.connect(), sim.connect()
    alice.join("ceChat", "room")
    bob.join("ceChat", "room")
    event(alice, "room", {"user": "alice"})
    event(alice, "room", {"name": "bad"})
    sim.run_until_idle()
    got = [f["event"]["event"] for f in bob.frames_of("ceChat", "room") if f["event"]["type"] == "event"]
    assert got == [{"type": "typing", "data": {"user": "alice"}}]
    assert [e["code"] for e in alice.errors()] == ["INVALID_EVENT"]
    event(alice, "room", {"user": "alice"})  # the budget of 2 is spent
    assert [e["code"] for e in alice.errors()][-1] == "RATE_LIMITED"
    event(bob, "room", {"user": "bob"})  # another connection has its own
    sim.run_until_idle()
    assert {"type": "typing", "data": {"user": "bob"}} in [
        f["event"]["event"] for f in alice.frames_of("ceChat", "room") if f["event"]["type"] == "event"]
    eve = sim.connect()
    event(eve, "room", {"user": "eve"})  # not joined
    assert [e["code"] for e in eve.errors()] == ["EVENT_NOT_ALLOWED"]


def test_a_client_event_the_table_refuses_is_answered_with_an_error_frame(sim: CloudSim) -> None:
    """A store failure while sending (here the streams table is gone: a real DynamoDB error) is an
    INTERNAL_ERROR frame to the sender, as a failed join is, not a 500 API Gateway drops unseen."""
    alice = sim.connect()
    alice.join("ceChat", "room")
    sim.client("dynamodb").delete_table(TableName=sim.resources.tables["streams-table"])
    event(alice, "room", {"user": "alice"})
    assert [(e["code"], e["message"]) for e in alice.errors()] == [
        ("INTERNAL_ERROR", "The event failed on the server; try again")]
    event(alice, "room", {"user": "alice"})  # the connection is still served
    assert [e["code"] for e in alice.errors()] == ["INTERNAL_ERROR", "INTERNAL_ERROR"]

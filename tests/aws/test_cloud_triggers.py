"""Stream and state triggers on the harness: the tables' change streams → the triggers function →
the trigger steps' queues → their functions, with the originating trace, retries and the DLQ."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.adapters.aws import keys as k
from motia_runtime.hosts.aws.triggers import events_for
from motia_runtime.testing import CloudSim

FILES = {
    "streams/trig_items_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Item(BaseModel):
            n: int = 0

        config = StreamConfig(name="trigItems", schema=Item, public=True)
    ''',
    "functions/trig_case/write_step.py": '''
        config = {"type": "api", "name": "Write", "path": "/write", "method": "POST"}

        async def handler(req, ctx):
            body = req["body"]
            s = ctx.streams.trigItems
            if body["op"] == "stream":
                await s.set(body["group"], "a", {"n": 1})
                await s.update(body["group"], "a", [{"type": "increment", "path": "n", "by": 2}])
                await s.send({"groupId": body["group"], "id": "a"}, {"type": "ping", "data": {}})
                await s.delete(body["group"], "a")
            elif body["op"] == "state":
                await ctx.state.set("pets", "p1", {"status": "new"})
                await ctx.state.update("pets", "p1", [{"type": "set", "path": "status", "value": "ok"}])
                await ctx.state.delete("pets", "p1")
            elif body["op"] == "loop":
                await s.set("loop", "x", {"n": 0})
            elif body["op"] == "brief":
                await s.set("g1", "brief", {"n": 5}, ttl=1)
            elif body["op"] == "boom":
                await s.set("boom", "x", {"n": 0})
            elif body["op"] == "odd-names":
                await s.set("g1", body["key"], {"n": 1})
                await ctx.state.set("pets", body["key"], {"status": "odd"})
            return {"status": 200, "body": {"traceId": ctx.trace_id}}
    ''',
    "functions/trig_case/watch_stream_step.py": '''
        config = {"type": "stream", "name": "WatchStream", "streamName": "trigItems", "groupId": "g1"}

        async def handler(change, ctx):
            seen = await ctx.state.get("seen", "stream") or []
            await ctx.state.set("seen", "stream", [*seen, {"trace": ctx.trace_id, "kind": change["event"]["type"],
                                                           "old": change["old_value"], "new": change["new_value"],
                                                           "depth": change["depth"]}])
    ''',
    "functions/trig_case/watch_state_step.py": '''
        config = {"type": "state", "name": "WatchState", "group": "pets"}

        async def handler(change, ctx):
            seen = await ctx.state.get("seen", "state") or []
            await ctx.state.set("seen", "state", [*seen, {"trace": ctx.trace_id, "kind": change["event_type"],
                                                          "old": change["old_value"], "new": change["new_value"]}])
    ''',
    "functions/trig_case/loop_step.py": '''
        config = {"type": "stream", "name": "Loop", "streamName": "trigItems", "groupId": "loop"}

        async def handler(change, ctx):
            if change["event"]["type"] != "delete":
                await ctx.streams.trigItems.update("loop", "x", [{"type": "increment", "path": "n"}])
    ''',
    "functions/trig_case/boom_step.py": '''
        config = {"type": "stream", "name": "Boom", "streamName": "trigItems", "groupId": "boom",
                  "infrastructure": {"queue": {"maxRetries": 1}}}

        async def handler(change, ctx):
            raise RuntimeError("boom")
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("trig", FILES)) as sim:
        yield sim


def state(sim: CloudSim, group: str, key: str) -> Any:
    return sim.run(lambda runtime: runtime.state.get(group, key))


def write(sim: CloudSim, **body: Any) -> str:
    response = sim.http("POST", "/write", json=body)
    assert response.status == 200, response.body
    return str(response.json()["traceId"])


def test_the_template_wires_the_tables_streams_to_the_triggers_function(sim: CloudSim) -> None:
    assert set(sim.resources.stream_arns) == {"streams-table", "state-table"}  # the state table's only for triggers
    assert sim.resources.queues["WatchStream"].fifo and sim.resources.queues["WatchState"].fifo
    assert "triggers" in sim.resources.functions


def test_stream_trigger_gets_every_change_of_its_group_in_order(sim: CloudSim) -> None:
    trace = write(sim, op="stream", group="g1")
    write(sim, op="stream", group="g2")  # another group: not watched
    sim.run_until_idle()
    seen = state(sim, "seen", "stream")
    assert [s["kind"] for s in seen] == ["create", "update", "event", "delete"]
    assert {s["trace"] for s in seen} == {trace}
    assert seen[0]["old"] is None and seen[0]["new"]["n"] == 1
    assert seen[1]["old"]["n"] == 1 and seen[1]["new"]["n"] == 3
    assert seen[3]["old"]["n"] == 3 and seen[3]["new"] is None
    assert [s["depth"] for s in seen] == [1, 1, 1, 1]


def test_a_ttl_expiry_reaches_the_stream_trigger_as_a_delete_of_its_own_chain(sim: CloudSim) -> None:
    trace = write(sim, op="brief")
    sim.run_until_idle()
    assert [s["kind"] for s in state(sim, "seen", "stream")] == ["create"]
    time.sleep(2.1)  # past the second the TTL attribute names
    assert sim.expire_ttl() >= 1  # DynamoDB's TTL deletion: a REMOVE record with the old image
    sim.run_until_idle()
    seen = state(sim, "seen", "stream")
    assert [s["kind"] for s in seen] == ["create", "delete"]
    assert seen[1]["old"]["n"] == 5 and seen[1]["new"] is None
    # No step's write removed it: a chain of its own, as on the local host (tests/local/test_ttl_triggers.py).
    assert seen[1]["depth"] == 1 and seen[1]["trace"] != trace


def test_a_removal_by_dynamodbs_ttl_service_is_an_expiry_whenever_the_record_is_stamped(sim: CloudSim) -> None:
    # On AWS the TTL deletion's record names DynamoDB's service principal; moto's do not, so the
    # record is the real item's REMOVE as Lambda would get it, with and without that identity.
    trace = write(sim, op="brief")
    table = sim.resources.tables["streams-table"]
    image = sim.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": k.stream_pk("trigItems", "g1")},
                                                                  "sk": {"S": "brief"}})["Item"]
    arn = f"arn:aws:dynamodb:us-east-1:1:table/{table}/stream/x"
    record: dict[str, Any] = {
        "eventID": "e1", "eventName": "REMOVE", "eventSourceARN": arn,
        "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "OldImage": image,
                     "ApproximateCreationDateTime": int(time.time()) - 60},  # before its expiry
    }
    router = sim.run(_router)
    deleted = events_for(router, record, table)
    assert [(e.data["depth"], e.trace_id) for e in deleted] == [(1, trace)]  # a delete: the last writer's chain
    ttl_service = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    by_ttl = events_for(router, {**record, "userIdentity": ttl_service}, table)
    assert len(by_ttl) == 1 and by_ttl[0].data["depth"] == 1 and by_ttl[0].trace_id != trace


async def _router(runtime: Any) -> Any:
    return runtime.triggers


def test_state_trigger_gets_old_and_new_values(sim: CloudSim) -> None:
    trace = write(sim, op="state")
    sim.run_until_idle()
    seen = state(sim, "seen", "state")
    assert [s["kind"] for s in seen] == ["state:created", "state:updated", "state:deleted"]
    assert {s["trace"] for s in seen} == {trace}
    assert [s["old"] for s in seen] == [None, {"status": "new"}, {"status": "ok"}]
    assert [s["new"] for s in seen] == [{"status": "new"}, {"status": "ok"}, None]


def test_items_named_with_spaces_accents_or_past_128_characters_get_message_groups_sqs_takes(sim: CloudSim) -> None:
    # SQS refuses a MessageGroupId that is not 1-128 ASCII letters, digits and punctuation (moto
    # does not check): the trigger function's send would fail and stall the table's stream.
    key = "a key, café " + "x" * 130
    write(sim, op="odd-names", key=key)
    sim.pump_streams()  # the triggers function has queued the changes; no trigger step ran yet
    sqs = sim.client("sqs")
    groups = []
    for step in ("WatchStream", "WatchState"):
        out = sqs.receive_message(QueueUrl=sim.resources.queues[step].url, MaxNumberOfMessages=10,
                                  VisibilityTimeout=0, AttributeNames=["MessageGroupId"])
        groups += [m["Attributes"]["MessageGroupId"] for m in out.get("Messages", [])]
    assert len(groups) == 2 and all(re.fullmatch(r"[!-~]{1,128}", g) for g in groups), groups
    sim.run_until_idle()
    assert [s["new"]["n"] for s in state(sim, "seen", "stream")] == [1]
    assert [s["new"] for s in state(sim, "seen", "state")] == [{"status": "odd"}]


def test_a_trigger_loop_stops_at_the_depth_limit(sim: CloudSim) -> None:
    write(sim, op="loop")
    sim.run_until_idle()
    item = sim.run(lambda runtime: runtime.streams["trigItems"].get("loop", "x"))
    assert item["n"] == 8  # hops 1-8 ran (MOTIA_TRIGGER_MAX_DEPTH's default); hop 9 was not queued


def test_a_failing_trigger_is_retried_then_dead_lettered(sim: CloudSim) -> None:
    write(sim, op="boom")
    sim.run_until_idle()
    dead = sim.dead_letters("Boom")
    assert len(dead) == 1
    assert dead[0]["detail"]["data"]["event"]["type"] == "create"

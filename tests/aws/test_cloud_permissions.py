"""Every AWS call a function makes is one its role allows.

moto does not check IAM, so a function whose generated policies miss a right it uses passes every
other test here and fails on AWS with AccessDeniedException. This test runs an app on CloudSim,
records each call the functions make (a botocore hook on the session their clients come from: the
operation, the table, queue or bus, and the function making it, by ``AWS_LAMBDA_FUNCTION_NAME``),
expands the same template's policies with SAM's own transform (samtranslator, as ``sam deploy``
does), and checks each call against the statements of that function's role.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest

from motia_runtime.testing import CloudSim
from motia_runtime.tools.template import build_template
from motia_runtime.tools.template.names import BUS, WS_API
from tests.support.sam import sam_transform

FILES = {
    # Presence and client events run in the WebSocket function: a member row in the state table
    # and presence/client events in the streams table.
    "streams/perm_room_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import ClientEvents, Presence, StreamConfig

        class Msg(BaseModel):
            text: str = ""

        config = StreamConfig(name="permRoom", schema=Msg, public=True, presence=Presence(),
                              client_events=ClientEvents(types=["say"]))
    ''',
    # on_join / on_leave hooks get a step context: state and streams, from the WebSocket function
    # (join) and the triggers function (leave).
    "streams/perm_watch_stream.py": '''
        from motia_runtime import StreamConfig

        async def joined(sub, auth, ctx):
            await ctx.state.set("watchers", sub["subscriptionId"], {"group": sub["groupId"]})
            await ctx.streams.permWatch.set("counts", sub["groupId"], {"n": 1})

        async def left(sub, auth, ctx):
            await ctx.state.delete("watchers", sub["subscriptionId"])

        config = StreamConfig(name="permWatch", schema={"type": "object"}, public=True, on_join=joined,
                              on_leave=left)
    ''',
    "functions/perm_case/ping_step.py": '''
        config = {"type": "api", "name": "PermPing", "path": "/ping", "method": "POST", "emits": ["perm.ping"]}

        async def handler(req, ctx):
            await ctx.state.set("pings", "last", req["body"])
            await ctx.emit({"topic": "perm.ping", "data": req["body"]})
            return {"status": 200, "body": {}}
    ''',
    # A failure (retry delay: ChangeMessageVisibility) and input the schema refuses (dead letter).
    "functions/perm_case/pong_step.py": '''
        config = {"type": "event", "name": "PermPong", "subscribes": ["perm.ping"], "emits": [],
                  "input": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}

        async def handler(data, ctx):
            if data["n"] == 1:
                raise RuntimeError("n = 1 always fails")
            await ctx.streams.permWatch.set("pongs", str(data["n"]), {"n": data["n"]})
    ''',
}

Call = tuple[str, str, str]  # (function logical id, IAM action, logical id of the resource)


# A transaction is authorised item by item, as the single-item action of each (there is no
# dynamodb:TransactWriteItems action in IAM).
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _targets(service: str, operation: str, params: dict[str, Any]) -> set[tuple[str, str]]:
    """(IAM action, physical name of the table, queue URL or bus) for each thing one call acts on."""
    if service == "dynamodb":
        if "TransactItems" in params:
            return {(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", detail["TableName"])
                    for item in params["TransactItems"] for kind, detail in item.items()}
        names = {params["TableName"]} if "TableName" in params else set(params.get("RequestItems", {}))
        return {(f"dynamodb:{operation}", name) for name in names}
    if service == "sqs":  # a batch is authorised as its single-message action
        return {(f"sqs:{operation.removesuffix('Batch')}", params["QueueUrl"])}
    if service == "events":
        return {(f"events:{operation}", entry.get("EventBusName", "default")) for entry in params.get("Entries", [])}
    if service == "execute-api":  # DeleteConnection (posts are signed requests of the pusher's own)
        return {("execute-api:ManageConnections", "WebSocketApi")}
    return {(f"{service}:{operation}", "?")}


Recorded = tuple[CloudSim, set[Call]]


@pytest.fixture
def simulate(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[Callable[..., Recorded]]:
    """``simulate(files, **CloudSim options)``: the app on CloudSim, and the calls its functions make."""
    with ExitStack() as stack:

        def start(files: dict[str, str], **options: Any) -> Recorded:
            calls: set[Call] = set()
            sim = stack.enter_context(CloudSim(make_project("permissions", files), **options))
            prefix = f"{sim.stack_name}-"
            made = sim.resources
            logical = {name: logical_id for logical_id, name in made.table_names.items()}
            logical |= {queue.url: logical_id for logical_id, queue in made.queues_by_id.items()}
            logical[made.bus_name or "-"] = BUS
            logical["WebSocketApi"] = WS_API

            def record(model: Any, params: dict[str, Any], **_: Any) -> None:
                function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
                if not function.startswith(prefix) or function == f"{prefix}(test)":
                    return  # the test's own calls, and CloudSim's as the event sources
                for action, name in _targets(model.service_model.endpoint_prefix, model.name, params):
                    calls.add((function.removeprefix(prefix), action, logical.get(name, name)))

            # The functions' clients are made from this session after the hook is in place.
            session = boto3.DEFAULT_SESSION
            session.events.register("before-parameter-build", record)
            stack.callback(session.events.unregister, "before-parameter-build", record)
            return sim, calls

        yield start


def _roles(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each function's role statements, as SAM's transform writes them."""
    out = sam_transform(template)["Resources"]
    roles: dict[str, list[dict[str, Any]]] = {}
    for logical_id, resource in out.items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = out[resource["Properties"]["Role"]["Fn::GetAtt"][0]]
            roles[logical_id] = [s for p in role["Properties"].get("Policies", [])
                                 for s in p["PolicyDocument"]["Statement"]]
    return roles


def _named(resource: Any) -> set[str]:
    """The logical ids a policy resource points at (Ref, GetAtt, ${Id} in Fn::Sub and its variables)."""
    text = json.dumps(resource)
    return (set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', text)) | set(re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"',
                                                                                text))
            | {m.split(".")[0] for m in re.findall(r"\$\{([A-Za-z0-9.]+)\}", text)})


def _allows(statements: list[dict[str, Any]], action: str, target: str) -> bool:
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) \
                and target in _named(statement["Resource"]):
            return True
    return False


def _frame(kind: str, stream: str, group: str, sub: str, **extra: Any) -> str:
    return json.dumps({"type": kind, "data": {"streamName": stream, "groupId": group, "subscriptionId": sub, **extra}})


def test_every_call_of_the_stream_functions_is_allowed_by_their_roles(simulate: Callable[..., Recorded]) -> None:
    sim, calls = simulate(FILES)
    a, b = sim.connect(), sim.connect()
    a.join("permRoom", "g", subscription_id="ra")
    a.join("permWatch", "g", subscription_id="wa")
    b.join("permRoom", "g", subscription_id="rb")
    sim.run_until_idle()
    a.send_raw(_frame("event", "permRoom", "g", "-", event={"type": "say", "data": {"text": "hi"}}))
    assert sim.http("POST", "/ping", json={"n": 1}).status == 200
    assert sim.http("POST", "/ping", json={"n": 2}).status == 200
    assert sim.http("POST", "/ping", json={"wrong": True}).status == 200
    sim.run_until_idle()
    a.leave("wa")
    b.disconnect()
    sim.run_until_idle()
    sim.gone(a.connection_id)
    assert sim.http("POST", "/ping", json={"n": 3}).status == 200
    sim.run_until_idle()

    # What the scenario must have reached, or the check below proves little.
    assert not a.errors(), a.errors()
    pongs = sim.run(lambda rt: rt.streams["permWatch"].get_group("pongs"))
    assert sorted(p["n"] for p in pongs) == [2, 3]  # 1 always fails
    assert sim.dead_letters("PermPong") and sim.retry_delays["PermPong"]
    made = {(function, action) for function, action, _ in calls}
    assert {("WebSocketFunction", "dynamodb:PutItem"), ("PermPongFunction", "sqs:ChangeMessageVisibility"),
            ("PermPongFunction", "sqs:SendMessage"), ("PermPingFunction", "events:PutEvents"),
            ("TriggersFunction", "dynamodb:DeleteItem")} <= made, sorted(made)

    assert_allowed(sim, calls)
    # The other way, for the fan-out: no table it never calls (the changes come in the event).
    roles = _roles(build_template(sim.project))
    tables = {r for r in _named([s["Resource"] for s in roles["FanoutFunction"]]) if r.endswith("Table")}
    assert tables == {table for function, _, table in calls if function == "FanoutFunction"} == {"ConnectionsTable"}


def assert_allowed(sim: CloudSim, calls: set[Call]) -> None:
    roles = _roles(build_template(sim.project))
    denied = sorted(call for call in calls if not _allows(roles.get(call[0], []), call[1], call[2]))
    assert not denied, f"calls the functions' roles do not allow (function, action, resource): {denied}"


QUEUE_FILES = {
    "streams/permq_items_stream.py": '''
        from motia_runtime import StreamConfig

        config = StreamConfig(name="permqItems", schema={"type": "object"}, public=True)
    ''',
    # Emits to a FIFO step (a direct SendMessage) and a standard one (the bus), from an API step and a cron.
    "functions/permq_case/start_step.py": '''
        config = {"type": "api", "name": "PermqStart", "path": "/start", "method": "POST",
                  "emits": ["permq.ordered", "permq.plain"]}

        async def handler(req, ctx):
            await ctx.emit({"topic": "permq.ordered", "data": {"n": 1}, "messageGroupId": "g"})
            await ctx.emit({"topic": "permq.plain", "data": {"n": 1}})
            return {"status": 200, "body": {}}
    ''',
    "functions/permq_case/tick_step.py": '''
        config = {"type": "cron", "name": "PermqTick", "cron": "*/5 * * * *", "emits": ["permq.ordered"]}

        async def handler(ctx):
            await ctx.state.set("ticks", "last", {"ok": True})
            await ctx.emit({"topic": "permq.ordered", "data": {"n": 2}, "messageGroupId": "g"})
    ''',
    "functions/permq_case/ordered_step.py": '''
        config = {"type": "event", "name": "PermqOrdered", "subscribes": ["permq.ordered"], "emits": [],
                  "infrastructure": {"queue": {"type": "fifo"}}}

        async def handler(data, ctx):
            await ctx.streams.permqItems.set("g", str(data["n"]), {"n": data["n"]})
    ''',
    "functions/permq_case/plain_step.py": '''
        config = {"type": "event", "name": "PermqPlain", "subscribes": ["permq.plain"], "emits": []}

        async def handler(data, ctx):
            await ctx.state.set("plain", "seen", data)
    ''',
    # Stream and state triggers: the triggers function queues them (FIFO here: a direct send).
    "functions/permq_case/on_item_step.py": '''
        config = {"type": "stream", "name": "PermqOnItem", "streamName": "permqItems",
                  "infrastructure": {"queue": {"type": "fifo"}}}

        async def handler(change, ctx):
            await ctx.state.set("items", change["id"] or "-", {"type": change["event"]["type"]})
    ''',
    "functions/permq_case/on_state_step.py": '''
        config = {"type": "state", "name": "PermqOnState", "group": "plain"}

        async def handler(change, ctx):
            await ctx.streams.permqItems.set("state", "seen", {"kind": change["event_type"]})
    ''',
}


def test_every_call_of_the_queue_trigger_and_cron_functions_is_allowed_by_their_roles(
        simulate: Callable[..., Recorded]) -> None:
    sim, calls = simulate(QUEUE_FILES)
    watcher = sim.connect()
    watcher.join("permqItems", "g")
    assert sim.http("POST", "/start", json={}).status == 200
    assert sim.cron("PermqTick")["ok"]
    sim.run_until_idle()

    assert sorted(i["n"] for i in sim.run(lambda rt: rt.streams["permqItems"].get_group("g"))) == [1, 2]
    assert sim.run(lambda rt: rt.streams["permqItems"].get("state", "seen")) is not None
    made = {(function, action) for function, action, _ in calls}
    assert {("PermqStartFunction", "sqs:SendMessage"), ("PermqTickFunction", "sqs:SendMessage"),
            ("PermqStartFunction", "events:PutEvents"), ("TriggersFunction", "sqs:SendMessage"),
            ("TriggersFunction", "events:PutEvents")} <= made, sorted(made)
    assert_allowed(sim, calls)


def test_every_call_of_the_big_room_delivery_is_allowed_by_its_role(simulate: Callable[..., Recorded]) -> None:
    """The fan-out hands a big room to the delivery queue; the delivery function posts it, removes
    a gone connection and disconnects one that stays behind (DeleteConnection)."""
    sim, calls = simulate({"streams/permb_board_stream.py": FILES["streams/perm_watch_stream.py"].replace(
        "permWatch", "permBoard").replace(", on_join=joined,\n                              on_leave=left", "")},
        parameters={"FanoutBigRoom": "2", "FanoutShards": "2"})
    clients = [sim.connect() for _ in range(6)]
    for client in clients:
        client.join("permBoard", "g")
    sim.gone(clients[4].connection_id)
    sim.recorder.fail(clients[5].connection_id, 429, times=1000)
    sim.run(lambda rt: rt.streams["permBoard"].set("g", "x", {"n": 1}))
    for _ in range(5):
        sim.run_until_idle()

    made = {(function, action) for function, action, _ in calls}
    assert {("FanoutFunction", "sqs:SendMessage"), ("DeliveryFunction", "dynamodb:Query"),
            ("DeliveryFunction", "execute-api:ManageConnections")} <= made, sorted(made)
    assert_allowed(sim, calls)


def test_client_events_alone_are_allowed_without_rights_on_the_state_table(simulate: Callable[..., Recorded]) -> None:
    sim, calls = simulate({"streams/perm_room_stream.py": FILES["streams/perm_room_stream.py"].replace(
        "presence=Presence(),\n                              ", "")})
    a, b = sim.connect(), sim.connect()
    a.join("permRoom", "g")
    b.join("permRoom", "g")
    a.send_raw(_frame("event", "permRoom", "g", "-", event={"type": "say", "data": {"text": "hi"}}))
    sim.run_until_idle()
    assert not a.errors(), a.errors()
    assert {"type": "say", "data": {"text": "hi"}} in [f["event"]["event"] for f in b.frames_of("permRoom", "g")
                                                       if f["event"]["type"] == "event"]
    assert ("WebSocketFunction", "dynamodb:PutItem", "StreamsTable") in calls
    assert "StateTable" not in _named([s["Resource"] for s in _roles(build_template(sim.project))["WebSocketFunction"]])
    assert_allowed(sim, calls)

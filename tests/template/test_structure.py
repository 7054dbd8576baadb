"""What the generated template must get right, checked on a project with every kind of step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.tools.template import render_yaml
from motia_runtime.tools.template.names import HANDLERS

from .conftest import ProjectWriter, only, resources_of, template_of
from .rich_project import FILES

WEBSOCKET_TYPES = ("AWS::ApiGatewayV2::",)


@pytest.fixture
def template(write_project: ProjectWriter) -> dict[str, Any]:
    return template_of(write_project(FILES))


def _function(template: dict[str, Any], step: str) -> dict[str, Any]:
    return only(resources_of(template, step=step, role="function"))[1]["Properties"]


def _fifo_env(properties: dict[str, Any]) -> dict[str, list[str]] | None:
    """MOTIA_FIFO_QUEUES with each ${QueueId} replaced by "url:QueueId" (what Ref gives: a URL)."""
    value = properties["Environment"]["Variables"].get("MOTIA_FIFO_QUEUES")
    if value is None:
        return None
    text = re.sub(r"\$\{([A-Za-z0-9]+)\}", r"url:\1", value["Fn::Sub"])
    return json.loads(text)  # type: ignore[no-any-return]


def test_websocket_resources_come_after_a_serverless_function(template: dict[str, Any]) -> None:
    # sam local start-api crashes when a WebSocket API with $connect is the first API-like resource.
    types = [r["Type"] for r in template["Resources"].values()]
    first_ws = next(i for i, t in enumerate(types) if t.startswith(WEBSOCKET_TYPES))
    assert "AWS::Serverless::Function" in types[:first_ws]
    assert "AWS::Serverless::HttpApi" not in types[:types.index("AWS::Serverless::Function")]


def test_websocket_api_routes_and_deployment(template: dict[str, Any]) -> None:
    _, api = only(resources_of(template, role="websocket-api"))
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.type"
    routes = resources_of(template, role="websocket-route")
    assert sorted(r["Properties"]["RouteKey"] for r in routes.values()) == sorted(
        ["$connect", "$disconnect", "join", "leave", "$default"]
    )
    _, deployment = only(resources_of(template, role="websocket-deployment"))
    assert sorted(deployment["DependsOn"]) == sorted(routes)  # "at least one route before deploying"
    ws_id, ws = only(resources_of(template, role="websocket"))
    assert ws["Properties"]["Handler"] == HANDLERS["websocket"]
    _, permission = only(resources_of(template, role="websocket-permission"))
    assert permission["Properties"]["FunctionName"] == {"Ref": ws_id}
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"


def test_event_steps_get_queue_dlq_rule_and_policy(template: dict[str, Any]) -> None:
    _, queue = only(resources_of(template, step="Ship", role="queue"))
    dlq_id, dlq = only(resources_of(template, step="Ship", role="dlq"))
    rule_id, rule = only(resources_of(template, step="Ship", role="rule"))
    queue_id = next(iter(resources_of(template, step="Ship", role="queue")))
    props = queue["Properties"]
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": 6}
    assert props["VisibilityTimeout"] == 120 and props["DelaySeconds"] == 10
    assert "FifoQueue" not in props and "FifoQueue" not in dlq["Properties"]
    pattern = {"source": ["motia"], "detail-type": ["order.created", "order.updated"]}
    assert rule["Properties"]["EventPattern"] == pattern
    assert rule["Properties"]["EventBusName"] == {"Ref": "EventBus"}
    # An event EventBridge cannot deliver to the queue ends in the step's DLQ, after its retries.
    assert rule["Properties"]["Targets"] == [{
        "Id": "StepQueue", "Arn": {"Fn::GetAtt": [queue_id, "Arn"]},
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}},
        "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
    }]
    _, policy = only(resources_of(template, step="Ship", role="queue-policy"))
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}, {"Ref": dlq_id}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [{"Fn::GetAtt": [queue_id, "Arn"]}, {"Fn::GetAtt": [dlq_id, "Arn"]}]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}

    function = _function(template, "Ship")
    assert function["Handler"] == HANDLERS["event"]
    assert (function["MemorySize"], function["Timeout"]) == (256, 60)
    event = function["Events"]["Queue"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 5}
    # Retry delays and dead letters are the function's own doing, on its own queues only.
    variables = function["Environment"]["Variables"]
    assert (variables["MOTIA_QUEUE_URL"], variables["MOTIA_DEAD_LETTER_QUEUE_URL"]) == ({"Ref": queue_id},
                                                                                          {"Ref": dlq_id})
    assert {"Statement": [
        {"Effect": "Allow", "Action": ["sqs:ChangeMessageVisibility"], "Resource": {"Fn::GetAtt": [queue_id, "Arn"]}},
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::GetAtt": [dlq_id, "Arn"]}},
    ]} in function["Policies"]


def test_fifo_steps_get_fifo_queues_and_no_rule(template: dict[str, Any]) -> None:
    for step_name in ("Ledger", "audit-log"):
        _, queue = only(resources_of(template, step=step_name, role="queue"))
        _, dlq = only(resources_of(template, step=step_name, role="dlq"))
        assert queue["Properties"]["FifoQueue"] is True
        assert dlq["Properties"]["FifoQueue"] is True  # a FIFO queue's DLQ must be FIFO
        assert not resources_of(template, step=step_name, role="rule")
        assert not resources_of(template, step=step_name, role="queue-policy")
    _, ledger = only(resources_of(template, step="Ledger", role="queue"))
    assert ledger["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 1  # maxRetries 0: one attempt


def test_emitters_of_fifo_topics_send_to_those_queues_only(template: dict[str, Any]) -> None:
    ledger_queue = next(iter(resources_of(template, step="Ledger", role="queue")))
    audit_queue = next(iter(resources_of(template, step="audit-log", role="queue")))
    expected = {
        "CreateOrder": {"order.created": [f"url:{ledger_queue}"]},
        "Ship": {"audit": [f"url:{audit_queue}"]},
        "Nightly": {"audit": [f"url:{audit_queue}"]},
        "ListOrders": None,  # emits nothing
        "audit-log": None,
        "Ledger": None,
    }
    for step_name, fifo in expected.items():
        properties = _function(template, step_name)
        assert _fifo_env(properties) == fifo, step_name
        send = [p["Statement"] for p in properties["Policies"]
                if "Statement" in p and p["Statement"][0]["Action"] == ["sqs:SendMessage"]]
        queues = [q.removeprefix("url:") for urls in (fifo or {}).values() for q in urls]
        assert send == [[{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::GetAtt": [q, "Arn"]}}]
                        for q in queues], step_name
        puts = [p for p in properties["Policies"] if "EventBridgePutEventsPolicy" in p]
        assert bool(puts) == (step_name in ("CreateOrder", "Ship", "Nightly")), step_name


def test_api_steps_use_http_api_with_braced_params(template: dict[str, Any]) -> None:
    function = _function(template, "CreateOrder")
    assert function["Handler"] == HANDLERS["api"]
    assert (function["MemorySize"], function["Timeout"]) == (512, 10)
    assert function["Events"]["Http"] == {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "Method": "POST", "Path": "/orders/{orderId}/items/{itemId}",
                       "PayloadFormatVersion": "2.0"},
    }
    assert _function(template, "ListOrders")["Events"]["Http"]["Properties"]["Path"] == "/orders"
    assert "HttpApiUrl" in template["Outputs"] and "WebSocketUrl" in template["Outputs"]


def test_cron_steps_get_a_schedule(template: dict[str, Any]) -> None:
    function_id = next(iter(resources_of(template, step="Nightly", role="function")))
    assert _function(template, "Nightly")["Handler"] == HANDLERS["cron"]
    schedule_id, schedule = only(resources_of(template, step="Nightly", role="schedule"))
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 9 ? * MON-FRI *)"
    assert "EventBusName" not in schedule["Properties"]  # schedules run on the default bus only
    assert schedule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    _, permission = only(resources_of(template, step="Nightly", role="schedule-permission"))
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [schedule_id, "Arn"]}
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"


def test_noop_steps_get_nothing(template: dict[str, Any]) -> None:
    assert not resources_of(template, step="Manual")


def test_every_resource_is_tagged_for_the_harness(template: dict[str, Any]) -> None:
    for logical_id, resource in template["Resources"].items():
        assert "role" in resource.get("Metadata", {}).get("Motia", {}), logical_id
    for role in ("state-table", "streams-table", "connections-table", "bus", "websocket", "fanout"):
        only(resources_of(template, role=role))


def test_environment_contract(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["MOTIA_STATE_TABLE"] == {"Ref": "StateTable"}
    assert variables["MOTIA_STREAMS_TABLE"] == {"Ref": "StreamsTable"}
    assert variables["MOTIA_CONNECTIONS_TABLE"] == {"Ref": "ConnectionsTable"}
    assert variables["MOTIA_EVENT_BUS"] == {"Ref": "EventBus"}
    assert variables["MOTIA_WS_ENDPOINT"]["Fn::Sub"].startswith("https://${WebSocketApi}.execute-api.${AWS::Region}.")
    assert variables["MOTIA_WS_ENDPOINT"]["Fn::Sub"].endswith("/prod")
    assert {"MOTIA_PROJECT_ROOT", "POWERTOOLS_SERVICE_NAME"} <= set(variables)
    files = {"CreateOrder": "functions/orders/create_order_step.py", "Ship": "functions/orders/ship_step.py",
             "Ledger": "functions/orders/ledger_step.py", "Nightly": "functions/audit/nightly_step.py"}
    for step_name, file in files.items():
        variables = _function(template, step_name)["Environment"]["Variables"]
        # MOTIA_STEP_FILE: the one step file the function imports (hosts/aws/bootstrap.py).
        assert (variables["MOTIA_STEP"], variables["MOTIA_STEP_FILE"]) == (step_name, file)


def test_tables_and_fanout(template: dict[str, Any]) -> None:
    _, streams = only(resources_of(template, role="streams-table"))
    assert streams["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert streams["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "expiresAt"
    _, connections = only(resources_of(template, role="connections-table"))
    (index,) = connections["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byRoomShard"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["roomShard", "sk"]
    _, fanout = only(resources_of(template, role="fanout"))
    source = fanout["Properties"]["Events"]["Stream"]["Properties"]
    assert source["Stream"] == {"Fn::GetAtt": ["StreamsTable", "StreamArn"]}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BisectBatchOnFunctionError"] is True and source["StartingPosition"] == "LATEST"
    assert 0 <= source["MaximumRetryAttempts"] <= 10


def _references(value: Any) -> set[str]:
    """Logical ids a value points at through Ref, GetAtt or ${...} in Sub (pseudo parameters excluded)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        if "Fn::Sub" in value:
            names = re.findall(r"\$\{([^}!]+)\}", value["Fn::Sub"])
            return {n.split(".")[0] for n in names if not n.startswith("AWS::")}
        return set().union(*(_references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


def test_iam_grants_only_the_apps_own_resources(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        connections: list[str] = []
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"{logical_id}: managed policy {policy!r}"
            if "Statement" in policy:
                for statement in policy["Statement"]:
                    assert "*" not in (statement["Action"] if isinstance(statement["Action"], list)
                                       else [statement["Action"]])
                    listed = statement["Resource"] if isinstance(statement["Resource"], list) else [
                        statement["Resource"]]
                    assert all(isinstance(r, dict) for r in listed), f"{logical_id}: literal resource"
                    if statement["Action"] in (["sqs:SendMessage"], ["sqs:ChangeMessageVisibility"]):
                        # a FIFO subscriber's queue; an event step's own queue and DLQ
                        assert _references(statement["Resource"]) <= set(resources)
                        continue
                    assert _references(statement["Resource"]) == {"WebSocketApi"}
                    connections += [r["Fn::Sub"].split("/prod/")[1] for r in listed]  # scoped to the stage
                continue
            (template_name, parameters), = policy.items()
            for value in parameters.values():
                refs = _references(value)
                assert refs and refs <= set(resources), f"{logical_id}: {template_name} {value!r}"
        if connections:  # posting and disconnecting (DeleteConnection) only, never reading
            assert sorted(connections) == ["DELETE/@connections/*", "POST/@connections/*"], logical_id


def test_rendering_is_deterministic(write_project: ProjectWriter) -> None:
    import yaml

    root: Path = write_project(FILES)
    first = render_yaml(template_of(root))
    assert render_yaml(template_of(root)) == first
    assert yaml.safe_load(first) == template_of(root)  # plain intrinsics: no custom tags to read back
    assert "&id" not in first and "*id" not in first  # no YAML anchors


def test_the_websocket_deployment_is_replaced_when_the_routes_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from motia_runtime.tools.template import websocket

    def deployment(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        (found,) = [i for i, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Deployment"]
        (stage,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
        return found, stage

    before, stage = deployment(websocket.websocket_api())
    assert stage["Properties"]["DeploymentId"] == {"Ref": before}
    assert deployment(websocket.websocket_api())[0] == before  # deterministic
    monkeypatch.setattr(websocket, "ROUTES", {**websocket.ROUTES, "ping": "WebSocketPingRoute"})
    after, stage = deployment(websocket.websocket_api())
    assert after != before and after.startswith("WebSocketDeployment")
    assert stage["Properties"]["DeploymentId"] == {"Ref": after}

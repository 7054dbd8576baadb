"""The committed template deployed: SAM's transform (samtranslator, offline), then the stack created by
CloudFormation on a moto server, and a walk of the wiring as API Gateway, EventBridge, SQS and Lambda
would follow it.

moto's CloudFormation has bugs of its own; the workarounds for them live here, never in the template
(`moto_workarounds`). It cannot create some types at all (`MOTO_CANNOT_CREATE`): for those the
wiring walk is the check. See shared/reference/aws-here.md for what real `sam deploy` against moto
does and why it is not used.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sam import sam_transform

from .conftest import REPO

pytestmark = pytest.mark.slow

STACK = "motia-app"
REGION = "us-east-1"
BUCKET = "artifacts"
# Types moto's CloudFormation records as created without creating anything (it says "No Moto
# CloudFormation support"): the API Gateway v2 APIs (both of them), their routes, integrations,
# stages, deployment, the SQS queue policies and the CloudWatch alarms.
MOTO_CANNOT_CREATE = {
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Deployment", "AWS::ApiGatewayV2::Stage", "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
}
# Types moto's CloudFormation leaves out altogether (not even listed among the stack's resources):
# the cron functions' EventInvokeConfig (no async retries, failures to the schedule's DLQ).
MOTO_SKIPS = {"AWS::Lambda::EventInvokeConfig"}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    """template.yaml after SAM's transform, with the local code folders as S3 objects (what
    `sam package` does before CloudFormation sees the template)."""
    from samtranslator.yaml_helper import yaml_parse

    return sam_transform(yaml_parse((REPO / "template.yaml").read_text(encoding="utf-8")), bucket=BUCKET,
                         region=REGION)


def moto_workarounds(template: dict[str, Any]) -> dict[str, Any]:
    """A copy moto can create; each change works around a moto bug, not a template problem."""
    out = copy.deepcopy(template)
    resources = out["Resources"]
    bus = next(r for r in resources.values() if r["Type"] == "AWS::Events::EventBus")
    bus_id = next(i for i, r in resources.items() if r is bus)
    # moto: {"Ref": bus} resolves to its EventBus object, not its name: a rule's EventBusName then
    # fails ('EventBus' object has no attribute 'split') and a function's environment cannot be
    # listed (not JSON serializable). A literal name and an explicit DependsOn do what the Ref does.
    bus["Properties"]["Name"] = name = f"{STACK}-motia"

    def literal(value: Any) -> tuple[Any, bool]:
        if value == {"Ref": bus_id}:
            return name, True
        if isinstance(value, dict):
            pairs = {k: literal(v) for k, v in value.items()}
            return {k: v for k, (v, _) in pairs.items()}, any(hit for _, hit in pairs.values())
        if isinstance(value, list):
            items = [literal(v) for v in value]
            return [v for v, _ in items], any(hit for _, hit in items)
        return value, False

    for resource in resources.values():
        resource["Properties"], hit = literal(resource.get("Properties", {}))
        if hit:
            resource["DependsOn"] = [*resource.get("DependsOn", []), bus_id]
    # moto: a FIFO queue without a QueueName gets a generated name without ".fifo", which it then
    # refuses (CloudFormation appends the suffix itself).
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::SQS::Queue" and resource["Properties"].get("FifoQueue"):
            resource["Properties"]["QueueName"] = f"{STACK}-{logical_id}.fifo"
    return out


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(service: str, url: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == kind}


def refs(value: Any) -> set[str]:
    """Logical ids a value names through Ref, Fn::GetAtt or Fn::Sub (pseudo parameters left out)."""
    if isinstance(value, list):
        return set().union(*map(refs, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if "Ref" in value:
        return set() if str(value["Ref"]).startswith("AWS::") else {value["Ref"]}
    if "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return {target[0] if isinstance(target, list) else target.split(".")[0]}
    if "Fn::Sub" in value:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names = {n.split(".")[0] for n in re.findall(r"\$\{([^}!]+)\}", text) if not n.startswith("AWS::")}
        return (names - set(variables)) | refs(list(variables.values()))
    return set().union(*map(refs, value.values())) if value else set()


def sub_text(value: Any) -> str:
    """The text of a Fn::Sub, its variables written in (``${__ApiId__}`` -> ``${HttpApi}``)."""
    text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
    for name, variable in variables.items():
        text = text.replace(f"${{{name}}}", f"${{{variable['Ref']}}}" if isinstance(variable, dict) else variable)
    return str(text)


def test_the_stack_is_created_on_moto(translated: dict[str, Any], moto_url: str) -> None:
    s3 = _client("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("python/placeholder.py", "")
    for key in ("app.zip", "layer.zip"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=archive.getvalue())
    cfn = _client("cloudformation", moto_url)
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(moto_workarounds(translated)),
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")

    reported = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName=STACK)["StackResources"]
                if r.get("LogicalResourceId")}
    expected = {i: r["Type"] for i, r in translated["Resources"].items()
                if r["Type"] not in MOTO_CANNOT_CREATE | MOTO_SKIPS}
    assert expected, "nothing to create"
    for logical_id, kind in expected.items():
        assert logical_id in reported, f"{logical_id} ({kind}) was not created"
        assert reported[logical_id]["ResourceStatus"] == "CREATE_COMPLETE", logical_id
    unknown = {r["Type"] for r in translated["Resources"].values()} - set(expected.values()) - MOTO_CANNOT_CREATE \
        - MOTO_SKIPS
    assert not unknown

    # And they exist, as the services themselves report them.
    functions = _client("lambda", moto_url).list_functions()["Functions"]
    assert len(functions) == len(of_type(translated, "AWS::Lambda::Function"))
    mappings = _client("lambda", moto_url).list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == len(of_type(translated, "AWS::Lambda::EventSourceMapping"))
    queues = _client("sqs", moto_url).list_queues().get("QueueUrls", [])
    assert len(queues) == len(of_type(translated, "AWS::SQS::Queue"))
    tables = _client("dynamodb", moto_url).list_tables()["TableNames"]
    assert len(tables) == len(of_type(translated, "AWS::DynamoDB::Table"))
    rules = _client("events", moto_url).list_rules(EventBusName=f"{STACK}-motia")["Rules"]
    bus_rules = [r for r in of_type(translated, "AWS::Events::Rule").values() if "EventBusName" in r["Properties"]]
    assert len(rules) == len(bus_rules)


def _permissions(template: dict[str, Any], function_id: str, principal: str) -> list[dict[str, Any]]:
    return [p["Properties"] for p in of_type(template, "AWS::Lambda::Permission").values()
            if refs(p["Properties"]["FunctionName"]) == {function_id} and p["Properties"]["Principal"] == principal]


def test_http_routes_reach_their_functions_with_permission(translated: dict[str, Any]) -> None:
    functions = of_type(translated, "AWS::Lambda::Function")
    http_apis = {i: a for i, a in of_type(translated, "AWS::ApiGatewayV2::Api").items() if "Body" in a["Properties"]}
    routes = 0
    for api_id, api in http_apis.items():
        for path, methods in api["Properties"]["Body"]["paths"].items():
            for method, operation in methods.items():
                integration = operation["x-amazon-apigateway-integration"]
                assert integration["type"] == "aws_proxy" and integration["payloadFormatVersion"] == "2.0"
                (function_id,) = refs(integration["uri"])
                assert function_id in functions, f"{method} {path} -> {function_id}"
                # API Gateway may invoke it for exactly this route of this API (path parameters: *).
                route_arn = re.sub(r"\{[^}]+\}", "*", f"/{method.upper()}{path}")
                arns = [sub_text(p["SourceArn"]) for p in _permissions(translated, function_id,
                                                                        "apigateway.amazonaws.com")]
                assert any(arn.endswith(f"${{{api_id}}}/*{route_arn}") for arn in arns), (path, method, arns)
                routes += 1
    assert routes == len(re.findall(r"Type: HttpApi\n", (REPO / "template.yaml").read_text()))


def test_websocket_routes_reach_the_function_with_permission(translated: dict[str, Any]) -> None:
    integrations = of_type(translated, "AWS::ApiGatewayV2::Integration")
    routes = of_type(translated, "AWS::ApiGatewayV2::Route")
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == {"$connect", "$disconnect", "join", "leave",
                                                                     "$default"}
    for route_id, route in routes.items():
        (api_id,) = refs(route["Properties"]["ApiId"])
        (integration_id,) = refs(route["Properties"]["Target"])
        integration = integrations[integration_id]["Properties"]
        assert refs(integration["ApiId"]) == {api_id} and integration["IntegrationType"] == "AWS_PROXY"
        (function_id,) = refs(integration["IntegrationUri"])
        assert function_id in of_type(translated, "AWS::Lambda::Function"), route_id
        arns = [sub_text(p["SourceArn"]) for p in _permissions(translated, function_id, "apigateway.amazonaws.com")]
        assert any(arn.endswith(f":${{{api_id}}}/*") for arn in arns), (route_id, arns)
    # The stage serves a deployment of this API made after its routes.
    for stage in of_type(translated, "AWS::ApiGatewayV2::Stage").values():
        if "DeploymentId" in stage["Properties"]:
            (deployment_id,) = refs(stage["Properties"]["DeploymentId"])
            assert set(routes) <= set(translated["Resources"][deployment_id]["DependsOn"])


def test_every_rule_reaches_its_function_through_a_queue_it_may_send_to(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    policies = of_type(translated, "AWS::SQS::QueuePolicy").values()
    mappings = of_type(translated, "AWS::Lambda::EventSourceMapping").values()
    bus_rules = {i: r for i, r in of_type(translated, "AWS::Events::Rule").items() if "EventBusName" in r["Properties"]}
    assert bus_rules
    for rule_id, rule in bus_rules.items():
        (target,) = rule["Properties"]["Targets"]
        (queue_id,) = refs(target["Arn"])
        assert resources[queue_id]["Type"] == "AWS::SQS::Queue"
        (dlq_id,) = refs(target["DeadLetterConfig"]["Arn"])
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
        # A queue policy lets this rule (and only it) send to the queue and to the rule's DLQ.
        allowing = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]
                    if refs(s["Condition"]["ArnEquals"]["aws:SourceArn"]) == {rule_id}
                    and s["Principal"] == {"Service": "events.amazonaws.com"} and s["Action"] == "sqs:SendMessage"]
        assert allowing, rule_id
        assert {queue_id, dlq_id} <= refs([s["Resource"] for s in allowing])
        # The queue feeds exactly one function, which reports partial failures.
        (mapping,) = [m["Properties"] for m in mappings if refs(m["Properties"]["EventSourceArn"]) == {queue_id}]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        (function_id,) = refs(mapping["FunctionName"])
        assert resources[function_id]["Type"] == "AWS::Lambda::Function"
        # The queue's redrive goes to the same DLQ.
        assert refs(resources[queue_id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) == {dlq_id}


def test_schedules_and_the_table_stream_reach_their_functions(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    schedules = {i: r for i, r in of_type(translated, "AWS::Events::Rule").items()
                 if "ScheduleExpression" in r["Properties"]}
    for schedule_id, schedule in schedules.items():
        (target,) = schedule["Properties"]["Targets"]
        (function_id,) = refs(target["Arn"])
        assert [p for p in _permissions(translated, function_id, "events.amazonaws.com")
                if refs(p["SourceArn"]) == {schedule_id}], schedule_id
        # A run EventBridge cannot deliver lands in the schedule's DLQ, which only that rule may send to.
        (dlq_id,) = refs(target["DeadLetterConfig"]["Arn"])
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
        allowing = [q["Properties"] for q in of_type(translated, "AWS::SQS::QueuePolicy").values()
                    if dlq_id in refs(q["Properties"]["Queues"])
                    and any(refs(st["Condition"]["ArnEquals"]["aws:SourceArn"]) == {schedule_id}
                            for st in q["Properties"]["PolicyDocument"]["Statement"])]
        assert allowing, f"no queue policy lets {schedule_id} send to {dlq_id}"
    streams = [(i, m["Properties"]) for i, m in of_type(translated, "AWS::Lambda::EventSourceMapping").items()
               if "StreamArn" in json.dumps(m["Properties"]["EventSourceArn"])]
    tables = {i for i, t in of_type(translated, "AWS::DynamoDB::Table").items()
              if "StreamSpecification" in t["Properties"]}
    assert {next(iter(refs(m["EventSourceArn"]))) for _, m in streams} == tables
    for mapping_id, mapping in streams:
        (function_id,) = refs(mapping["FunctionName"])
        assert resources[function_id]["Type"] == "AWS::Lambda::Function"
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"], mapping_id
        (failures,) = refs(mapping["DestinationConfig"]["OnFailure"]["Destination"])
        assert resources[failures]["Type"] == "AWS::SQS::Queue"


def test_every_policy_names_only_resources_of_the_stack(translated: dict[str, Any]) -> None:
    from .test_security import SECRET_ACTIONS, secret_statements

    resources = set(translated["Resources"])
    # The one exception: the parameters and secrets the project declares ([tool.motia.secrets]).
    secrets = [json.dumps(a) for s in secret_statements(translated) for a in s["Resource"]]
    roles = of_type(translated, "AWS::IAM::Role")
    assert len(roles) == len(of_type(translated, "AWS::Lambda::Function"))
    for role_id, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                listed = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                for resource in listed:
                    if statement["Action"] in SECRET_ACTIONS and json.dumps(resource) in secrets:
                        continue
                    named = refs(resource)
                    assert named and named <= resources, f"{role_id}/{policy['PolicyName']}: {resource!r}"


def test_operations_cover_every_function_queue_and_stage(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    alarms = [a["Properties"] for a in of_type(translated, "AWS::CloudWatch::Alarm").values()]

    def watched(metric: str) -> set[str]:
        return {next(iter(refs(d["Value"]))) for a in alarms if a["MetricName"] == metric for d in a["Dimensions"]}

    functions = of_type(translated, "AWS::Lambda::Function")
    assert watched("Errors") == watched("Throttles") == set(functions)
    stream_consumers = {next(iter(refs(m["Properties"]["FunctionName"])))
                        for m in of_type(translated, "AWS::Lambda::EventSourceMapping").values()
                        if "StreamArn" in json.dumps(m["Properties"]["EventSourceArn"])}
    assert watched("IteratorAge") == stream_consumers
    dead_letter_queues = {next(iter(refs(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])))
                          for q in of_type(translated, "AWS::SQS::Queue").values()
                          if "RedrivePolicy" in q["Properties"]}
    dead_letter_queues |= {next(iter(refs(m["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])))
                           for m in of_type(translated, "AWS::Lambda::EventSourceMapping").values()
                           if "DestinationConfig" in m["Properties"]}
    dead_letter_queues |= {next(iter(refs(t["DeadLetterConfig"]["Arn"])))
                           for r in of_type(translated, "AWS::Events::Rule").values()
                           for t in r["Properties"]["Targets"] if "DeadLetterConfig" in t}
    assert watched("ApproximateNumberOfMessagesVisible") == dead_letter_queues
    for function in functions.values():  # its own log group, with a retention
        (group,) = refs(function["Properties"]["LoggingConfig"]["LogGroup"])
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for stage in of_type(translated, "AWS::ApiGatewayV2::Stage").values():  # both APIs
        settings = stage["Properties"]["DefaultRouteSettings"]
        assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (
            {"Ref": "ApiThrottleRate"}, {"Ref": "ApiThrottleBurst"})
        assert "AccessLogSettings" in stage["Properties"]
    for table in of_type(translated, "AWS::DynamoDB::Table").values():
        if table.get("DeletionPolicy") == "Retain":  # the app's data: state and stream items
            assert "PointInTimeRecoverySpecification" in table["Properties"]

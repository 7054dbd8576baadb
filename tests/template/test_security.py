"""Hardening of the generated template: least-privilege IAM, CORS not open, the stream secret a
NoEcho parameter.

IAM is checked twice: on the template as generated (every policy is a SAM policy template from
a known list, pointed at a resource of the template, or a hand-written statement with exact
actions on this app's resources), and on what SAM's own transform expands it to (the roles
CloudFormation would create), with the SAM CLI of ``.venv-sam`` (make test creates it).
Wildcards are allowed only where the feature cannot name the resource in advance: a table's
indexes (``/index/*``) and the WebSocket stage's connections (``/@connections/*``). The managed
policies SAM attaches for logging and event-source polling are AWS's own and are listed
(docs/deploying.md, IAM).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.sam import sam_transform

from .conftest import REPO, ProjectWriter, template_of
from .rich_project import FILES

# SAM policy template → the parameter naming the resource it is scoped to.
SCOPED_POLICY_TEMPLATES = {
    "DynamoDBCrudPolicy": "TableName",
    "DynamoDBReadPolicy": "TableName",
    "EventBridgePutEventsPolicy": "EventBusName",
}
SAM_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",  # its own logs
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",  # polling its queue
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",  # polling the table stream
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",  # the Tracing parameter: sending its own traces
}
ALLOWED_WILDCARDS = ("/index/*", "/@connections/*")


def _refs(value: Any) -> set[str]:
    """Logical ids a value points at (Ref, GetAtt, ${Id} in Fn::Sub)."""
    text = json.dumps(value)
    found = set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', text))
    found |= set(re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"', text))
    found |= {m.split(".")[0] for m in re.findall(r"\$\{([A-Za-z0-9.]+)\}", text)}
    return found - {"AWS"}


def _check_resource(resource: Any, known: set[str], where: str) -> None:
    text = json.dumps(resource)
    assert text != '"*"', f"{where}: Resource *"
    stripped = text
    for allowed in ALLOWED_WILDCARDS:
        stripped = stripped.replace(allowed, "")
    assert "*" not in stripped, f"{where}: a wildcard in {text}"
    assert _refs(resource) & known, f"{where}: {text} is not one of this app's resources"


def _check_actions(actions: Any, where: str) -> None:
    for action in actions if isinstance(actions, list) else [actions]:
        assert "*" not in action, f"{where}: wildcard action {action}"


SECRET_ACTIONS = (["ssm:GetParameter"], ["secretsmanager:GetSecretValue"])


def secret_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements the declared secrets (each function's MOTIA_SECRETS) grant: the one place a
    policy may name something outside the stack, the parameters and secrets the project lists."""
    from motia_runtime.tools.template.app_secrets import policy

    out: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        declared = (resource.get("Properties", {}).get("Environment", {}).get("Variables", {}) or {}).get(
            "MOTIA_SECRETS")
        if declared:
            out += policy(json.loads(declared))["Statement"]
    return out


def check_generated(template: dict[str, Any]) -> int:
    known = set(template["Resources"])
    secrets = secret_statements(template)
    checked = 0
    for logical_id, resource in template["Resources"].items():
        assert not resource["Type"].startswith("AWS::IAM::"), f"{logical_id}: hand-made IAM resource"
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"{logical_id}: managed policy by name {policy}"
            (name, value), = policy.items()
            if name == "Statement":
                for statement in value:
                    assert statement["Effect"] == "Allow"
                    _check_actions(statement["Action"], logical_id)
                    if statement["Action"] in SECRET_ACTIONS:
                        assert statement in secrets, f"{logical_id}: {statement} is not a declared secret"
                        continue
                    _check_resource(statement["Resource"], known, logical_id)
            else:
                assert name in SCOPED_POLICY_TEMPLATES, f"{logical_id}: policy template {name} is not on the list"
                target = value[SCOPED_POLICY_TEMPLATES[name]]
                assert _refs(target) & known, f"{logical_id}: {name} is not scoped to this app ({target})"
            checked += 1
    return checked


def test_the_committed_template_grants_only_scoped_permissions() -> None:
    import yaml

    template = yaml.safe_load((REPO / "template.yaml").read_text())
    assert check_generated(template) > 40


def test_a_template_with_every_step_kind_grants_only_scoped_permissions(write_project: ProjectWriter) -> None:
    assert check_generated(template_of(write_project(FILES))) > 10


def test_the_checks_would_catch_a_wildcard(write_project: ProjectWriter) -> None:
    template = template_of(write_project(FILES))
    function = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function")
    function["Properties"]["Policies"].append({"Statement": [{"Effect": "Allow", "Action": ["sqs:*"],
                                                              "Resource": "*"}]})
    with pytest.raises(AssertionError, match="wildcard action"):
        check_generated(template)
    function["Properties"]["Policies"][-1] = {"AmazonS3FullAccess": {}}
    with pytest.raises(AssertionError, match="not on the list"):
        check_generated(template)


TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform
class NoManagedPolicies:
    def load(self): return {}
template = json.load(sys.stdin)
template["Globals"]["Function"]["CodeUri"] = "s3://bucket/app.zip"
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::LayerVersion":
        resource["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
out = transform(template, {}, NoManagedPolicies())
print(json.dumps({k: v for k, v in out["Resources"].items() if v["Type"].startswith("AWS::IAM::")}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("which", ["committed", "every step kind"])
def test_the_roles_sam_creates_grant_no_wildcards(which: str, write_project: ProjectWriter, sam_bin: Path) -> None:
    import yaml

    template = (yaml.safe_load((REPO / "template.yaml").read_text()) if which == "committed"
                else template_of(write_project(FILES)))
    result = subprocess.run([str(sam_bin / "python"), "-c", TRANSFORM], input=json.dumps(template), capture_output=True,
                            text=True, timeout=120, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stderr[-3000:]
    iam = json.loads(result.stdout)
    known = set(template["Resources"])
    secret_arns = [json.dumps(a) for st in secret_statements(template) for a in st["Resource"]]
    roles = [r for r in iam.values() if r["Type"] == "AWS::IAM::Role"]
    assert roles and all(r["Type"] == "AWS::IAM::Role" for r in iam.values())
    for role in roles:
        assert set(role["Properties"].get("ManagedPolicyArns", [])) <= SAM_MANAGED
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                where = policy["PolicyName"]
                _check_actions(statement["Action"], where)
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    if statement["Action"] in SECRET_ACTIONS and json.dumps(resource) in secret_arns:
                        continue  # a declared secret (SAM keeps the statement as written)
                    _check_resource(resource, known, where)


def test_cors_is_not_open_by_default_and_the_secret_is_no_echo() -> None:
    import yaml

    template = yaml.safe_load((REPO / "template.yaml").read_text())
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Ref": "CorsAllowOrigin"}]
    default = template["Parameters"]["CorsAllowOrigin"]["Default"]
    assert default.endswith(".invalid") and "*" not in default  # no page has that origin
    assert re.fullmatch(template["Parameters"]["CorsAllowOrigin"]["AllowedPattern"], "https://app.example.com")
    secret = template["Parameters"]["StreamSecret"]
    assert secret["NoEcho"] is True and secret["Default"] == ""
    assert template["Globals"]["Function"]["Environment"]["Variables"]["MOTIA_STREAM_SECRET"] == {"Ref": "StreamSecret"}


def test_a_project_without_api_steps_has_no_cors_parameter(write_project: ProjectWriter) -> None:
    template = template_of(write_project({"streams/s_stream.py": 'config = {"name": "s", "schema": {}}\n'}))
    from motia_runtime.tools.template import operations

    assert set(template["Parameters"]) == {"StreamSecret", "FanoutShards", "FanoutBigRoom", "DeliveryMaxConcurrency",
                                           *operations.parameters()}


def _websocket_tables(template: dict[str, Any]) -> dict[str, str]:
    """table → the policy template the WebSocket function has on it."""
    return {next(iter(value.values()))["Ref"]: name
            for policy in template["Resources"]["WebSocketFunction"]["Properties"]["Policies"]
            for name, value in policy.items() if name.startswith("DynamoDB")}


@pytest.mark.parametrize(("feature", "state"), [("presence=Presence()", True),
                                              ("client_events=ClientEvents(types=['say'])", False),
                                              ("on_join=lambda sub, auth, ctx: None", True)])
def test_the_websocket_function_writes_the_data_tables_only_for_what_runs_in_it(
        feature: str, state: bool, write_project: ProjectWriter) -> None:
    """Presence, client events and on_join hooks write the state and streams tables from the
    WebSocket function (tests/aws/test_cloud_permissions.py runs them); without them it only reads."""
    plain = 'from motia_runtime import StreamConfig\nconfig = StreamConfig(name="s", schema={})\n'
    assert _websocket_tables(template_of(write_project({"streams/s_stream.py": plain}))) == {
        "ConnectionsTable": "DynamoDBCrudPolicy", "StreamsTable": "DynamoDBReadPolicy"}
    with_feature = ("from motia_runtime import ClientEvents, Presence, StreamConfig\n"
                    f'config = StreamConfig(name="s", schema={{}}, {feature})\n')
    assert _websocket_tables(template_of(write_project({"streams/s_stream.py": with_feature}))) == {
        "ConnectionsTable": "DynamoDBCrudPolicy", "StreamsTable": "DynamoDBCrudPolicy",
        **({"StateTable": "DynamoDBCrudPolicy"} if state else {})}


def test_a_cron_run_lambda_fails_is_not_retried_but_kept_in_the_schedules_dlq(write_project: ProjectWriter) -> None:
    """A cron step runs once per tick: Lambda's two asynchronous retries of a run that timed out or
    crashed are off, and the run goes to the schedule's DLQ, which the role may send to (read off
    the roles and EventInvokeConfig SAM's transform makes)."""
    template = template_of(write_project({"functions/tick_step.py": (
        'config = {"type": "cron", "name": "Tick", "cron": "*/5 * * * *"}\n\n\nasync def handler(ctx):\n'
        '    return None\n')}))
    out = sam_transform(template)["Resources"]
    configs = [r["Properties"] for r in out.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"
               and r["Properties"]["FunctionName"] == {"Ref": "TickFunction"}]
    assert len(configs) == 1 and configs[0]["MaximumRetryAttempts"] == 0
    assert configs[0]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["TickScheduleDeadLetterQueue", "Arn"]}
    role = out[out["TickFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]]
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert {"Action": "sqs:SendMessage", "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["TickScheduleDeadLetterQueue", "Arn"]}} in statements

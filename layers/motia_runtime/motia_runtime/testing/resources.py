"""Create, in moto, the resources a SAM template dict describes for a motia project.

Resources are found by their ``Metadata: {"Motia": {...}}``: the three tables
(``state-table``, ``streams-table``, ``connections-table``), the bus (``bus``) and, per step,
its ``queue``, ``dlq`` and ``rule``. They are made with the template's own properties (key
schemas, indexes, stream and TTL settings, queue attributes and redrive policies, rule
patterns and targets), so a test exercises what ``sam deploy`` would create. Functions, APIs and
IAM are not created (moto cannot run Lambda code; the harness calls the entry points itself), but
each function's ``Handler``, environment (Globals + its own, resolved) and event source settings
are read, and the template's WebSocket API is resolved to the one the harness creates.

Intrinsics are resolved as far as these resources need: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``,
``Fn::Join``, parameter defaults and pseudo parameters. Anything else raises SimError.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import MotiaError


class SimError(MotiaError):
    """The simulation cannot do what was asked (a template it cannot read, a step it does not know)."""


@dataclass(frozen=True)
class QueueInfo:
    logical_id: str
    url: str
    arn: str
    fifo: bool
    max_receive_count: int | None = None
    dlq_arn: str | None = None


@dataclass(frozen=True)
class FunctionInfo:
    logical_id: str
    handler: str | None
    env: dict[str, str]  # Globals + the function's own variables, resolved
    batch_size: int | None = None  # of its SQS or DynamoDB event source
    max_retry_attempts: int | None = None  # of its DynamoDB event source


@dataclass
class Resources:
    tables: dict[str, str] = field(default_factory=dict)  # role -> table name
    stream_arns: dict[str, str] = field(default_factory=dict)  # role -> table stream ARN
    bus_name: str | None = None
    queues: dict[str, QueueInfo] = field(default_factory=dict)  # step -> its queue
    dlqs: dict[str, QueueInfo] = field(default_factory=dict)  # step -> its DLQ
    rules: dict[str, list[str]] = field(default_factory=dict)  # step -> rule names
    functions: dict[str, FunctionInfo] = field(default_factory=dict)  # step name, or role (websocket, fanout, delivery)
    delivery_queue: QueueInfo | None = None  # the big-room fan-out's FIFO queue (hosts/aws/delivery.py)
    delivery_dlq: QueueInfo | None = None
    ws_stage: str | None = None
    warnings: list[str] = field(default_factory=list)
    # By logical id, for every table, queue and scheduled rule, with or without Motia metadata
    # (what a live emulator needs to wire event sources generically).
    table_names: dict[str, str] = field(default_factory=dict)
    table_stream_arns: dict[str, str] = field(default_factory=dict)
    queues_by_id: dict[str, QueueInfo] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> its properties
    resolver: Resolver | None = None  # resolves the template's other values against what was made


def motia_meta(resource: dict[str, Any]) -> dict[str, Any]:
    meta = (resource.get("Metadata") or {}).get("Motia")
    return meta if isinstance(meta, dict) else {}


class Resolver:
    def __init__(self, template: dict[str, Any], stack: str, region: str, account: str,
                 parameters: dict[str, str] | None = None) -> None:
        self.params = {name: spec.get("Default") for name, spec in (template.get("Parameters") or {}).items()}
        unknown = set(parameters or {}) - set(self.params)
        if unknown:
            raise SimError(f"template: no parameter named {', '.join(sorted(unknown))}")
        self.params |= parameters or {}
        self.pseudo = {"AWS::Region": region, "AWS::StackName": stack, "AWS::AccountId": account,
                       "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None}
        self.refs: dict[str, str] = {}
        self.attrs: dict[tuple[str, str], str] = {}

    def ref(self, name: str) -> Any:
        for source in (self.pseudo, self.refs, self.params):
            if name in source:
                return source[name]
        raise SimError(f"template: cannot resolve Ref {name!r} (not a parameter or a resource the harness creates)")

    def get_att(self, logical_id: str, attr: str) -> str:
        try:
            return self.attrs[(logical_id, attr)]
        except KeyError:
            raise SimError(f"template: cannot resolve Fn::GetAtt {logical_id}.{attr}") from None

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(parts[0], parts[1])
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self._sub(text, variables)
            if fn == "Fn::Join":
                return str(arg[0]).join(str(self(v)) for v in arg[1])
            if fn.startswith("Fn::"):
                raise SimError(f"template: the harness does not evaluate {fn}")
        return {k: self(v) for k, v in value.items()}


def _name(resolver: Resolver, props: dict[str, Any], key: str, logical_id: str, limit: int, suffix: str = "") -> str:
    if key in props:
        return str(resolver(props[key]))
    base = f"{resolver.pseudo['AWS::StackName']}-{logical_id}"
    return base[: limit - len(suffix)] + suffix


def _create_table(clients: dict[str, Any], resolver: Resolver, logical_id: str, props: dict[str, Any]) -> str:
    ddb = clients["dynamodb"]
    name = _name(resolver, props, "TableName", logical_id, 255)
    args: dict[str, Any] = {
        "TableName": name, "KeySchema": resolver(props["KeySchema"]),
        "AttributeDefinitions": resolver(props["AttributeDefinitions"]),
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "ProvisionedThroughput" in props:
        args["ProvisionedThroughput"] = resolver(props["ProvisionedThroughput"])
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = resolver(props["GlobalSecondaryIndexes"])
    stream = props.get("StreamSpecification")
    if stream:
        # CloudFormation writes {StreamViewType}; the API also wants StreamEnabled.
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    table = ddb.create_table(**args)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled", True) not in (False, "false"):
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": True})
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Arn")] = table["TableArn"]
    if table.get("LatestStreamArn"):
        resolver.attrs[(logical_id, "StreamArn")] = table["LatestStreamArn"]
    return name


def _create_queue(clients: dict[str, Any], resolver: Resolver, logical_id: str, props: dict[str, Any]) -> QueueInfo:
    sqs = clients["sqs"]
    fifo = str(props.get("FifoQueue", False)).lower() == "true"
    name = _name(resolver, props, "QueueName", logical_id, 80, ".fifo" if fifo else "")
    attributes: dict[str, str] = {
        key: str(resolver(props[key])).lower() if isinstance(props[key], bool) else str(resolver(props[key]))
        for key in ("FifoQueue", "ContentBasedDeduplication", "VisibilityTimeout", "DelaySeconds",
                    "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "DeduplicationScope",
                    "FifoThroughputLimit") if key in props}
    redrive = resolver(props["RedrivePolicy"]) if props.get("RedrivePolicy") else None
    if redrive:
        attributes["RedrivePolicy"] = json.dumps(redrive)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resolver.refs[logical_id] = url
    resolver.attrs |= {(logical_id, "Arn"): arn, (logical_id, "QueueName"): name, (logical_id, "QueueUrl"): url}
    return QueueInfo(logical_id, url, arn, fifo, int(redrive["maxReceiveCount"]) if redrive else None,
                     redrive["deadLetterTargetArn"] if redrive else None)


def _create_rule(clients: dict[str, Any], resolver: Resolver, logical_id: str, props: dict[str, Any]) -> str | None:
    if "EventPattern" not in props:
        return None  # a schedule: the harness runs cron steps on demand (CloudSim.cron)
    events = clients["events"]
    name = _name(resolver, props, "Name", logical_id, 64)
    bus = str(resolver(props.get("EventBusName", "default")))
    bus = bus.rsplit("/", 1)[-1]  # a bus ARN names the bus after the last '/'
    pattern = resolver(props["EventPattern"])
    events.put_rule(Name=name, EventBusName=bus, State=props.get("State", "ENABLED"),
                    EventPattern=pattern if isinstance(pattern, str) else json.dumps(pattern))
    targets = [{"Id": str(t.get("Id", f"t{i}")), "Arn": str(resolver(t["Arn"]))}
               for i, t in enumerate(props.get("Targets") or [])]
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    resolver.refs[logical_id] = name
    return name


def _event_source(props: dict[str, Any], kind: str) -> dict[str, Any]:
    for source in (props.get("Events") or {}).values():
        if isinstance(source, dict) and source.get("Type") == kind:
            return dict(source.get("Properties") or {})
    return {}


def _function(resolver: Resolver, logical_id: str, props: dict[str, Any], globals_env: dict[str, Any],
              warnings: list[str]) -> FunctionInfo:
    env: dict[str, str] = {}
    variables = {**globals_env, **((props.get("Environment") or {}).get("Variables") or {})}
    for name, value in variables.items():
        try:
            resolved = resolver(value)
        except SimError as exc:
            warnings.append(f"{logical_id}: environment variable {name} left unset: {exc}")
            continue
        if resolved is not None:
            env[name] = str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
    source = _event_source(props, "SQS") or _event_source(props, "DynamoDB")
    batch, retries = source.get("BatchSize"), source.get("MaximumRetryAttempts")
    handler = props.get("Handler")
    return FunctionInfo(logical_id, handler if isinstance(handler, str) else None, env,
                        int(batch) if batch is not None else None, int(retries) if retries is not None else None)


def _register_websocket_api(template: dict[str, Any], resolver: Resolver, api_id: str, out: Resources) -> None:
    """Point the template's WebSocket API at the one the harness made (moto's CloudFormation
    cannot create ApiGatewayV2 resources), and learn its stage name."""
    resources = template.get("Resources") or {}
    for lid, resource in resources.items():
        if resource.get("Type") == "AWS::ApiGatewayV2::Api" and \
                (resource.get("Properties") or {}).get("ProtocolType") == "WEBSOCKET":
            resolver.refs[lid] = api_id
            for stage in resources.values():
                props = stage.get("Properties") or {}
                if stage.get("Type") == "AWS::ApiGatewayV2::Stage" and props.get("ApiId") == {"Ref": lid}:
                    out.ws_stage = str(props.get("StageName"))


_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_MADE_TYPES = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::EventBus", "AWS::Events::Rule")


def _register_functions(template: dict[str, Any], resolver: Resolver) -> None:
    """Functions are not created, but what refers to them (rule targets, environment) resolves to
    the name and ARN they would have."""
    for lid, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") in _FUNCTION_TYPES:
            name = str(resolver((resource.get("Properties") or {}).get("FunctionName"))
                       or f"{resolver.pseudo['AWS::StackName']}-{lid}"[:64])
            arn = f"arn:aws:lambda:{resolver.pseudo['AWS::Region']}:{resolver.pseudo['AWS::AccountId']}:function:{name}"
            resolver.refs[lid] = name
            resolver.attrs[(lid, "Arn")] = arn


def create_resources(template: dict[str, Any], clients: dict[str, Any], *, stack: str, region: str,
                     account: str, websocket_api_id: str, parameters: dict[str, str] | None = None) -> Resources:
    """``parameters`` are what ``sam deploy --parameter-overrides`` would pass. Tables, queues,
    the bus and rules are made whatever their metadata; the Motia roles only fill the role maps."""
    resolver = Resolver(template, stack, region, account, parameters)
    found = [(lid, r, motia_meta(r)) for lid, r in (template.get("Resources") or {}).items()
             if isinstance(r, dict) and (motia_meta(r) or r.get("Type") in _MADE_TYPES)]
    out = Resources(resolver=resolver)
    _register_websocket_api(template, resolver, websocket_api_id, out)
    _register_functions(template, resolver)
    for lid, resource, meta in found:
        if resource.get("Type") == "AWS::DynamoDB::Table":
            out.table_names[lid] = _create_table(clients, resolver, lid, resource.get("Properties") or {})
            if (lid, "StreamArn") in resolver.attrs:
                out.table_stream_arns[lid] = resolver.attrs[(lid, "StreamArn")]
            if str(meta.get("role", "")).endswith("-table"):
                out.tables[meta["role"]] = out.table_names[lid]
                if lid in out.table_stream_arns:
                    out.stream_arns[meta["role"]] = out.table_stream_arns[lid]
        elif resource.get("Type") == "AWS::Events::EventBus" or meta.get("role") == "bus":
            props = resource.get("Properties") or {}
            out.bus_name = _name(resolver, props, "Name", lid, 256)
            arn = clients["events"].create_event_bus(Name=out.bus_name)["EventBusArn"]
            resolver.refs[lid] = out.bus_name
            resolver.attrs |= {(lid, "Arn"): arn, (lid, "Name"): out.bus_name}
    # Queues without a redrive policy (the DLQs) first: the others point at them.
    queues = sorted((f for f in found if f[1].get("Type") == "AWS::SQS::Queue"),
                    key=lambda f: bool((f[1].get("Properties") or {}).get("RedrivePolicy")))
    for lid, resource, meta in queues:
        info = _create_queue(clients, resolver, lid, resource.get("Properties") or {})
        out.queues_by_id[lid] = info
        if meta.get("role") == "delivery-queue":
            out.delivery_queue = info
        elif meta.get("role") == "delivery-dlq":
            out.delivery_dlq = info
        elif meta.get("role") in ("queue", "dlq"):
            (out.dlqs if meta["role"] == "dlq" else out.queues)[str(meta.get("step"))] = info
    globals_env = ((template.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables") or {}
    for lid, resource, meta in found:
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Events::Rule":
            rule = _create_rule(clients, resolver, lid, props)
            if rule and meta.get("role") == "rule":
                out.rules.setdefault(str(meta.get("step")), []).append(rule)
            elif rule is None and "ScheduleExpression" in props:
                out.schedules[lid] = props
        elif resource.get("Type") in _FUNCTION_TYPES and meta.get("role"):
            key = str(meta.get("step")) if meta.get("role") == "function" else str(meta.get("role"))
            out.functions[key] = _function(resolver, lid, props, globals_env, out.warnings)
    return out

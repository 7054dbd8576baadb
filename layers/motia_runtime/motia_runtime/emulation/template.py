"""What ``motia cloud`` serves, read from a SAM template: functions, HTTP routes, the WebSocket
API's routes, and the event sources that invoke functions.

The read is generic, by resource type: ``AWS::Serverless::Function`` (``Globals.Function``
merged in) with ``Events`` of type ``HttpApi``, ``SQS``, ``DynamoDB`` and ``Schedule``/
``ScheduleV2`` (or an ``AWS::Lambda::EventSourceMapping`` on a queue or a table's stream);
``AWS::ApiGatewayV2::Api`` (WEBSOCKET) with its ``Route``s, ``Integration``s and
``Stage``; ``AWS::Events::Rule`` with a ``ScheduleExpression`` targeting a function. Every other
type is listed in ``AppModel.ignored`` (log groups, alarms, layers, IAM, ...) and left alone:
tables, queues, the bus and pattern rules are made in moto by ``testing.resources``, which
``CloudSim`` shares.

Values that refer to other resources stay as the template wrote them (``Ref``/``Fn::GetAtt``/
``Fn::Sub``) and are resolved once the resources exist (``Resources.resolver``). A template this
module cannot read raises ``TemplateError`` naming the resource and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# Lambda's defaults when the template (and its Globals) say nothing.
DEFAULT_TIMEOUT_S = 3
DEFAULT_MEMORY_MB = 128
SQS_DEFAULT_BATCH = 10
STREAM_DEFAULT_BATCH = 100


class TemplateError(ConfigError):
    """The template cannot be served: names the file, the resource and the field."""


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, Any]  # unresolved: Globals' variables, then the function's own
    runtime: str | None = None


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or ANY
    path: str  # as the template writes it: /pets/{id}, /files/{proxy+}; "$default" catches all
    function: str


@dataclass(frozen=True)
class SqsSource:
    function: str
    queue: str  # the queue's logical id
    batch_size: int = SQS_DEFAULT_BATCH
    report_failures: bool = False  # FunctionResponseTypes: [ReportBatchItemFailures]
    max_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency


@dataclass(frozen=True)
class StreamSource:
    function: str
    table: str  # the table's logical id
    batch_size: int = STREAM_DEFAULT_BATCH
    max_retries: int = -1  # MaximumRetryAttempts; -1: until the record expires
    bisect: bool = False
    report_failures: bool = False
    on_failure_queue: str | None = None  # DestinationConfig.OnFailure (an SQS queue's logical id)


@dataclass(frozen=True)
class Schedule:
    name: str  # the rule's (or the event's) logical id
    expression: str  # cron(...) or rate(...)
    function: str
    enabled: bool = True


@dataclass
class WebSocketApi:
    logical_id: str
    route_selection: str  # e.g. $request.body.type
    stage: str = "$default"
    routes: dict[str, str] = field(default_factory=dict)  # route key -> function
    two_way: set[str] = field(default_factory=set)  # routes whose integration's answer goes back


@dataclass
class AppModel:
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    http_routes: list[HttpRoute] = field(default_factory=list)
    cors: dict[str, Any] | None = None  # the HTTP API's CorsConfiguration, unresolved
    cors_field: str = ""  # where it was read, for errors: "resource X: field CorsConfiguration"
    websocket: WebSocketApi | None = None
    sqs_sources: list[SqsSource] = field(default_factory=list)
    stream_sources: list[StreamSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    ignored: dict[str, list[str]] = field(default_factory=dict)  # resource type -> logical ids


# -- YAML with CloudFormation's short tags ----------------------------------------------------------
def load_template(path: Path) -> dict[str, Any]:
    """The template at ``path`` as a dict, ``!Ref x`` read as ``{"Ref": "x"}`` and so on."""
    import yaml

    # libyaml's parser when PyYAML has it (its wheels do): the same safe constructors, and ~8x less
    # CPU than the pure-Python parser on a generated template (0.43 -> 0.05 s for this repo's 127 KB,
    # most of a `motia cloud` start's template read). bench/RESULTS.md, issue 18.4, T8.
    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml's may be absent
        pass

    def construct(tag: str) -> Any:
        name = tag if tag == "Ref" or tag == "Condition" else f"Fn::{tag}"

        def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
            if isinstance(node, yaml.ScalarNode):
                value: Any = loader.construct_scalar(node)
                if tag == "GetAtt":
                    value = str(value).split(".", 1)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                assert isinstance(node, yaml.MappingNode)  # the third kind of YAML node
                value = loader.construct_mapping(node, deep=True)
            return {name: value}

        return build

    for tag in ("Ref", "Condition", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
                "FindInMap", "ImportValue", "Base64", "Cidr", "GetAZs", "Transform"):
        Loader.add_constructor(f"!{tag}", construct(tag))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read the template: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{path}: field Resources: missing or not a mapping")
    return data


# -- reading references -------------------------------------------------------------------------
def referenced_ids(value: Any) -> list[str]:
    """Logical ids a value refers to (Ref, Fn::GetAtt, ${X} and ${X.Attr} in Fn::Sub), in order."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                out.append(arg)
            elif key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if parts:
                    out.append(str(parts[0]))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                out += [m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", str(text))]
                if not isinstance(arg, str) and len(arg) > 1:
                    out += referenced_ids(arg[1])
            else:
                out += referenced_ids(arg)
    elif isinstance(value, list):
        for item in value:
            out += referenced_ids(item)
    return [r for r in out if not r.startswith("AWS::")]


class _Reader:
    def __init__(self, template: dict[str, Any], source: str, parameters: dict[str, str] | None = None) -> None:
        self.template = template
        self.source = source
        self.resources: dict[str, Any] = template.get("Resources") or {}
        declared = template.get("Parameters") or {}
        self.parameters = {name: (spec or {}).get("Default") for name, spec in declared.items()} | (parameters or {})

    def value(self, value: Any) -> Any:
        """A ``Ref`` to a template parameter read as its value (an override, else its default)."""
        if isinstance(value, dict) and list(value) == ["Ref"] and value["Ref"] in self.parameters:
            return self.parameters[value["Ref"]]
        return value

    def error(self, logical_id: str, field_name: str, problem: str) -> TemplateError:
        return TemplateError(f"{self.source}: resource {logical_id}: field {field_name}: {problem}")

    def of_type(self, logical_id: str, value: Any, types: tuple[str, ...], field_name: str) -> str:
        """The logical id ``value`` refers to, which must be of one of ``types``."""
        for ref in referenced_ids(value):
            if (self.resources.get(ref) or {}).get("Type") in types:
                return ref
        raise self.error(logical_id, field_name, f"does not refer to a resource of type {' or '.join(types)}")

    def integer(self, logical_id: str, value: Any, field_name: str, default: int) -> int:
        value = self.value(value)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.error(logical_id, field_name, f"{value!r} is not a number")
        try:
            return int(value)
        except ValueError:
            raise self.error(logical_id, field_name, f"{value!r} is not a number") from None


def read_app(template: dict[str, Any], source: str = "template.yaml",
             parameters: dict[str, str] | None = None) -> AppModel:
    """The model of ``template`` (see the module docstring); ``parameters`` override the template's
    parameter defaults where a setting refers to one. Raises TemplateError."""
    reader = _Reader(template, source, parameters)
    model = AppModel()
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    if not isinstance(globals_fn, dict):
        raise TemplateError(f"{source}: field Globals.Function: not a mapping")
    globals_api = (template.get("Globals") or {}).get("HttpApi") or {}
    if not isinstance(globals_api, dict):
        raise TemplateError(f"{source}: field Globals.HttpApi: not a mapping")
    for lid, resource in reader.resources.items():  # first, so a reference to it is not blamed
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(f"{source}: resource {lid}: field Type: missing")
    for lid, resource in reader.resources.items():
        kind = resource["Type"]
        props = resource.get("Properties") or {}
        if not isinstance(props, dict):
            raise reader.error(lid, "Properties", "not a mapping")
        if kind in FUNCTION_TYPES:
            _read_function(reader, model, lid, props, globals_fn if kind == "AWS::Serverless::Function" else {})
        elif kind == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "WEBSOCKET":
            expression = props.get("RouteSelectionExpression")
            if not isinstance(expression, str) or not expression.startswith("$request.body"):
                raise reader.error(lid, "RouteSelectionExpression", "must be $request.body.<field> (or $request.body)")
            if model.websocket is not None:
                raise reader.error(lid, "ProtocolType", f"a second WebSocket API ({model.websocket.logical_id} is "
                                                        "the first); motia cloud serves one")
            model.websocket = WebSocketApi(lid, expression)
        elif kind == "AWS::Serverless::HttpApi":
            # SAM applies Globals.HttpApi to every HttpApi, the implicit one included (below).
            _read_cors(reader, model, props.get("CorsConfiguration", globals_api.get("CorsConfiguration")),
                       f"resource {lid}: field CorsConfiguration")
        elif kind == "AWS::Events::Rule" and "ScheduleExpression" in props:
            for i, target in enumerate(props.get("Targets") or []):
                function = reader.of_type(lid, (target or {}).get("Arn"), FUNCTION_TYPES, f"Targets[{i}].Arn")
                model.schedules.append(Schedule(lid, _expression(reader, lid, props["ScheduleExpression"],
                                                                 "ScheduleExpression"),
                                                function, str(props.get("State", "ENABLED")) == "ENABLED"))
        elif kind == "AWS::Lambda::EventSourceMapping":
            _read_mapping(reader, model, lid, props)
        elif kind not in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::EventBus", "AWS::Events::Rule",
                          "AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Integration",
                          "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::RouteResponse"):
            model.ignored.setdefault(kind, []).append(lid)
    if model.cors is None and model.http_routes:  # the implicit API SAM makes for HttpApi events
        _read_cors(reader, model, globals_api.get("CorsConfiguration"), "field Globals.HttpApi.CorsConfiguration")
    if model.websocket is not None:
        _read_websocket_routes(reader, model.websocket)
    return model


def _read_cors(reader: _Reader, model: AppModel, cors: Any, where: str) -> None:
    if cors in (None, False):
        return
    if not isinstance(cors, dict):
        raise TemplateError(f"{reader.source}: {where}: motia cloud reads its object form only "
                            "(AllowOrigins, AllowMethods, AllowHeaders, ...)")
    model.cors, model.cors_field = cors, where


def _expression(reader: _Reader, lid: str, value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"(cron|rate)\(.+\)", value.strip()):
        raise reader.error(lid, field_name, f"{value!r} is not cron(...) or rate(...)")
    return value.strip()


def _read_function(reader: _Reader, model: AppModel, lid: str, props: dict[str, Any],
                   globals_fn: dict[str, Any]) -> None:
    handler = props.get("Handler", globals_fn.get("Handler"))
    if not isinstance(handler, str) or "." not in handler:
        raise reader.error(lid, "Handler", f"{handler!r} is not module.function")
    env: dict[str, Any] = {}
    for source in (globals_fn, props):
        variables = ((source.get("Environment") or {}).get("Variables")) or {}
        if not isinstance(variables, dict):
            raise reader.error(lid, "Environment.Variables", "not a mapping")
        env |= variables
    model.functions[lid] = FunctionSpec(
        lid, handler,
        reader.integer(lid, props.get("Timeout", globals_fn.get("Timeout")), "Timeout", DEFAULT_TIMEOUT_S),
        reader.integer(lid, props.get("MemorySize", globals_fn.get("MemorySize")), "MemorySize", DEFAULT_MEMORY_MB),
        env, props.get("Runtime", globals_fn.get("Runtime")))
    events = props.get("Events") or {}
    if not isinstance(events, dict):
        raise reader.error(lid, "Events", "not a mapping")
    for name, event in events.items():
        where = f"Events.{name}"
        if not isinstance(event, dict) or not isinstance(event.get("Type"), str):
            raise reader.error(lid, f"{where}.Type", "missing")
        kind, ep = event["Type"], event.get("Properties") or {}
        if kind == "HttpApi":
            method = str(ep.get("Method", "ANY")).upper()
            path = ep.get("Path", "$default")
            if not isinstance(path, str) or not (path == "$default" or path.startswith("/")):
                raise reader.error(lid, f"{where}.Properties.Path", f"{path!r} does not start with /")
            model.http_routes.append(HttpRoute("ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
                                               path, lid))
        elif kind == "SQS":
            queue = reader.of_type(lid, ep.get("Queue"), ("AWS::SQS::Queue",), f"{where}.Properties.Queue")
            scaling = ep.get("ScalingConfig") or {}
            model.sqs_sources.append(SqsSource(
                lid, queue,
                reader.integer(lid, ep.get("BatchSize"), f"{where}.Properties.BatchSize", SQS_DEFAULT_BATCH),
                "ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or []),
                reader.integer(lid, scaling.get("MaximumConcurrency"), f"{where}.Properties.ScalingConfig", 0) or None))
        elif kind == "DynamoDB":
            table = reader.of_type(lid, ep.get("Stream"), ("AWS::DynamoDB::Table",), f"{where}.Properties.Stream")
            on_failure = ((ep.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            model.stream_sources.append(StreamSource(
                lid, table,
                reader.integer(lid, ep.get("BatchSize"), f"{where}.Properties.BatchSize", STREAM_DEFAULT_BATCH),
                reader.integer(lid, ep.get("MaximumRetryAttempts"), f"{where}.Properties.MaximumRetryAttempts", -1),
                str(ep.get("BisectBatchOnFunctionError", False)).lower() == "true",
                "ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or []),
                reader.of_type(lid, on_failure, ("AWS::SQS::Queue",), f"{where}.Properties.DestinationConfig")
                if on_failure is not None else None))
        elif kind in ("Schedule", "ScheduleV2"):
            expression = ep.get("Schedule", ep.get("ScheduleExpression"))
            enabled = ep.get("Enabled", True) is not False and ep.get("State", "ENABLED") == "ENABLED"
            expression = _expression(reader, lid, expression, f"{where}.Properties.Schedule")
            model.schedules.append(Schedule(f"{lid}.{name}", expression, lid, enabled))
        else:
            model.ignored.setdefault(f"event source {kind}", []).append(f"{lid}.{name}")


def _read_mapping(reader: _Reader, model: AppModel, lid: str, props: dict[str, Any]) -> None:
    """An ``AWS::Lambda::EventSourceMapping`` written out (rather than a SAM ``Events`` entry)."""
    function = reader.of_type(lid, props.get("FunctionName"), FUNCTION_TYPES, "FunctionName")
    if str(props.get("Enabled", True)).lower() == "false":
        return
    source = props.get("EventSourceArn")
    kinds = {(reader.resources.get(r) or {}).get("Type") for r in referenced_ids(source)}
    report = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
    if "AWS::SQS::Queue" in kinds:
        queue = reader.of_type(lid, source, ("AWS::SQS::Queue",), "EventSourceArn")
        scaling = props.get("ScalingConfig") or {}
        model.sqs_sources.append(SqsSource(
            function, queue, reader.integer(lid, props.get("BatchSize"), "BatchSize", SQS_DEFAULT_BATCH), report,
            reader.integer(lid, scaling.get("MaximumConcurrency"), "ScalingConfig.MaximumConcurrency", 0) or None))
    elif "AWS::DynamoDB::Table" in kinds:
        table = reader.of_type(lid, source, ("AWS::DynamoDB::Table",), "EventSourceArn")
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        model.stream_sources.append(StreamSource(
            function, table, reader.integer(lid, props.get("BatchSize"), "BatchSize", STREAM_DEFAULT_BATCH),
            reader.integer(lid, props.get("MaximumRetryAttempts"), "MaximumRetryAttempts", -1),
            str(props.get("BisectBatchOnFunctionError", False)).lower() == "true", report,
            reader.of_type(lid, on_failure, ("AWS::SQS::Queue",), "DestinationConfig")
            if on_failure is not None else None))
    else:
        raise reader.error(lid, "EventSourceArn", "is not an SQS queue or a DynamoDB table's stream of the template")


def _read_websocket_routes(reader: _Reader, api: WebSocketApi) -> None:
    integrations: dict[str, str] = {}
    for lid, resource in reader.resources.items():
        props = resource.get("Properties") or {}
        if api.logical_id not in referenced_ids(props.get("ApiId")):
            continue
        if resource["Type"] == "AWS::ApiGatewayV2::Integration":
            integrations[lid] = reader.of_type(lid, props.get("IntegrationUri"), FUNCTION_TYPES, "IntegrationUri")
        elif resource["Type"] == "AWS::ApiGatewayV2::Stage":
            api.stage = str(props.get("StageName", "$default"))
    for lid, resource in reader.resources.items():
        props = resource.get("Properties") or {}
        if api.logical_id not in referenced_ids(props.get("ApiId")):
            continue
        if resource["Type"] == "AWS::ApiGatewayV2::Route":
            key = props.get("RouteKey")
            if not isinstance(key, str) or not key:
                raise reader.error(lid, "RouteKey", "missing")
            target = [r for r in referenced_ids(props.get("Target")) if r in integrations]
            if not target:
                raise reader.error(lid, "Target", "does not refer to a Lambda proxy integration of the API")
            api.routes[key] = integrations[target[0]]
            if props.get("RouteResponseSelectionExpression"):
                api.two_way.add(key)

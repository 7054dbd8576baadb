"""Globals, the runtime layer, the HTTP API and one ``AWS::Serverless::Function`` per step."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from ...config import ApiRouteConfig, CronConfig, EventConfig
from ...errors import ConfigError
from ...project import Step
from .names import (
    BUS,
    CODE_URI,
    CONNECTIONS_TABLE,
    DEPS_LAYER,
    DEPS_LAYER_URI,
    HANDLERS,
    HTTP_API,
    LAYER,
    LAYER_URI,
    STATE_TABLE,
    STREAMS_TABLE,
    WS_API,
    WS_STAGE_NAME,
    app_metadata,
    get_att,
    ref,
    step_metadata,
    sub,
)
from .parameters import STREAM_SECRET, cors_origins

# sam build resolves the runtime's interpreter on PATH; 3.11 is what the project and CI use.
RUNTIME = "python3.11"
RUNTIME_VERSION = "3.11"  # the same, as pip's --python-version and the bytecode's interpreter
# Lambda's SQS event source hands over one message per invocation, so
# infrastructure.handler.timeout bounds one handler run, as it does in Motia.
SQS_BATCH_SIZE = 1
PROJECT_ROOT_ON_LAMBDA = "/var/task"  # where Lambda unpacks CodeUri
# An HTTP API waits at most 30 s for its Lambda integration (a quota that cannot be raised).
HTTP_API_TIMEOUT_S = 30


def globals_section(app_env: dict[str, Any] | None = None, *, architecture: str = "arm64",
                    deps_layer: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings every function shares; ``app_env`` holds the app's own variables (see app_env.py)."""
    return {
        "Function": {
            **(extra or {}),
            "Runtime": RUNTIME,
            "Architectures": [architecture],
            "CodeUri": CODE_URI,
            "Layers": [ref(LAYER), *([ref(DEPS_LAYER)] if deps_layer else [])],
            "Environment": {
                "Variables": {
                    "MOTIA_STATE_TABLE": ref(STATE_TABLE),
                    "MOTIA_STREAMS_TABLE": ref(STREAMS_TABLE),
                    "MOTIA_CONNECTIONS_TABLE": ref(CONNECTIONS_TABLE),
                    "MOTIA_EVENT_BUS": ref(BUS),
                    "MOTIA_WS_ENDPOINT": ws_endpoint(),
                    "MOTIA_PROJECT_ROOT": PROJECT_ROOT_ON_LAMBDA,
                    "MOTIA_STREAM_SECRET": ref(STREAM_SECRET),
                    "POWERTOOLS_SERVICE_NAME": sub("${AWS::StackName}"),
                    **(app_env or {}),
                }
            },
        }
    }


def ws_endpoint() -> dict[str, str]:
    """The @connections endpoint (https, with the stage), as the Management API client wants it."""
    return sub(f"https://${{{WS_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{WS_STAGE_NAME}")


def layers(*, architecture: str = "arm64", deps_layer: bool = False) -> dict[str, dict[str, Any]]:
    """The runtime layer and, when the project has requirements, the app-dependencies layer.

    No ``BuildMethod``: ``motia build`` has already written both (tools/layers.py: one pip
    resolution for Lambda's platform, split so no package is in both), bytecode included, and
    ``sam build`` would otherwise pip-install them again."""

    def layer(role: str, description: str, uri: str) -> dict[str, Any]:
        return {
            "Type": "AWS::Serverless::LayerVersion",
            "Metadata": app_metadata(role),
            "Properties": {
                "Description": description,
                "ContentUri": uri,
                "CompatibleRuntimes": [RUNTIME],
                "CompatibleArchitectures": [architecture],
                "RetentionPolicy": "Delete",
            },
        }

    out = {LAYER: layer("runtime-layer", "motia_runtime and its dependencies", LAYER_URI)}
    if deps_layer:
        out[DEPS_LAYER] = layer("dependencies-layer", "The app's requirements.txt (less the runtime layer's packages)",
                                DEPS_LAYER_URI)
    return out


def http_api(steps: list[Step]) -> dict[str, dict[str, Any]]:
    methods = sorted({s.config.method for s in steps if isinstance(s.config, ApiRouteConfig)})
    return {
        HTTP_API: {
            "Type": "AWS::Serverless::HttpApi",
            "Metadata": app_metadata("http-api"),
            "Properties": {
                # Not open by default: browsers on another origin are let in only once the
                # CorsAllowOrigin parameter names it (see parameters.py).
                "CorsConfiguration": {
                    "AllowOrigins": cors_origins(),
                    "AllowMethods": methods,
                    "AllowHeaders": ["authorization", "content-type"],
                }
            },
        }
    }


def http_path(path: str) -> str:
    """Motia's ``/pets/:id`` is API Gateway's ``/pets/{id}``."""
    return "/".join("{" + p[1:] + "}" if p.startswith(":") else p for p in path.split("/"))


def data_policies() -> list[dict[str, Any]]:
    """What every step's ctx needs: state and stream items (read and write)."""
    return [
        {"DynamoDBCrudPolicy": {"TableName": ref(STATE_TABLE)}},
        {"DynamoDBCrudPolicy": {"TableName": ref(STREAMS_TABLE)}},
    ]


def step_function(
    step: Step, rel: str, own_queues: tuple[str, str] | None, fifo_routes: dict[str, list[str]],
    schedule_dlq: str | None = None,
) -> dict[str, Any]:
    """The function of an api/event/cron step.

    ``own_queues``: an event step's queue and DLQ logical ids. ``schedule_dlq``: a cron step's
    schedule DLQ logical id. ``fifo_routes`` maps each topic
    this step emits that has FIFO subscribers to those
    subscribers' queue logical ids: the step sends to them itself (see queues.py for why).
    """
    config = step.config
    handler = config.infrastructure.handler
    if isinstance(config, ApiRouteConfig) and handler.timeout > HTTP_API_TIMEOUT_S:
        # The client would get API Gateway's 503 at 30 s while the function ran on, its writes and
        # emits landing after the caller was told the request failed.
        raise ConfigError(
            f"an API step's handler timeout ({handler.timeout} s) is over the {HTTP_API_TIMEOUT_S} s API Gateway's "
            f"HTTP API waits for a response; set it to {HTTP_API_TIMEOUT_S} or less, and hand longer work to an "
            "event step (emit)",
            file=rel,
            field="infrastructure.handler.timeout",
        )
    # MOTIA_STEP_FILE: the function imports this step only, not the whole project (bootstrap.py).
    environment: dict[str, Any] = {"MOTIA_STEP": config.name, "MOTIA_STEP_FILE": PurePath(rel).as_posix()}
    policies = data_policies()
    if config.emits:
        policies.append({"EventBridgePutEventsPolicy": {"EventBusName": ref(BUS)}})
    if own_queues is not None:
        queue_id, dlq_id = own_queues
        # The function sets each failed message's retry delay and dead-letters what can never
        # succeed itself (adapters/aws/redelivery.py): exactly those two rights, on its own queues.
        environment["MOTIA_QUEUE_URL"] = ref(queue_id)
        environment["MOTIA_DEAD_LETTER_QUEUE_URL"] = ref(dlq_id)
        policies.append({"Statement": [
            {"Effect": "Allow", "Action": ["sqs:ChangeMessageVisibility"], "Resource": get_att(queue_id, "Arn")},
            {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": get_att(dlq_id, "Arn")},
        ]})
    if fifo_routes:
        environment["MOTIA_FIFO_QUEUES"] = _fifo_queue_env(fifo_routes)
        for queue in sorted({q for queues in fifo_routes.values() for q in queues}):
            # Not SAM's SQSSendMessagePolicy: it grants sqs:SendMessage*, batches included.
            policies.append({"Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"],
                                            "Resource": get_att(queue, "Arn")}]})
    properties: dict[str, Any] = {
        "Description": _description(config.type, config.name, rel),
        "Handler": HANDLERS[config.type],
        "MemorySize": handler.ram,
        "Timeout": handler.timeout,
        "Environment": {"Variables": environment},
        "Policies": policies,
    }
    if schedule_dlq is not None:
        # A cron step runs once per tick (hosts/aws/schedule.py reports its failures instead of
        # raising). A run Lambda itself fails (a timeout, a crash) would otherwise be retried twice
        # as an asynchronous invocation: three runs of one tick. It goes to the schedule's DLQ
        # instead (its depth alarm), as a tick EventBridge could not deliver does.
        properties["EventInvokeConfig"] = {
            "MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": get_att(schedule_dlq, "Arn")}},
        }
    events = _events(step, rel, own_queues[0] if own_queues else None)
    if events:
        properties["Events"] = events
    return {"Type": "AWS::Serverless::Function", "Metadata": step_metadata(config.name, "function"),
            "Properties": properties}


def _description(kind: str, name: str, rel: str) -> str:
    return f"Motia {kind} step {name} ({rel})"[:256]  # Lambda's limit


def _events(step: Step, rel: str, queue_id: str | None) -> dict[str, Any]:
    config = step.config
    if isinstance(config, ApiRouteConfig):
        return {
            "Http": {
                "Type": "HttpApi",
                "Properties": {
                    "ApiId": ref(HTTP_API),
                    "Method": config.method,
                    "Path": http_path(config.path),
                    "PayloadFormatVersion": "2.0",
                },
            }
        }
    if isinstance(config, EventConfig):
        assert queue_id is not None
        properties: dict[str, Any] = {
            "Queue": get_att(queue_id, "Arn"),
            "BatchSize": SQS_BATCH_SIZE,
            # Failed records are retried alone; the rest of the batch is deleted.
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        concurrency = config.infrastructure.queue.concurrency
        if concurrency is not None:
            if concurrency < 2:
                raise ConfigError(
                    "Lambda's SQS event source cannot cap concurrency below 2 (ScalingConfig.MaximumConcurrency); "
                    "for one-at-a-time processing use a fifo queue and one messageGroupId",
                    file=rel,
                    field="infrastructure.queue.concurrency",
                )
            properties["ScalingConfig"] = {"MaximumConcurrency": concurrency}
        return {"Queue": {"Type": "SQS", "Properties": properties}}
    if isinstance(config, CronConfig):
        return {}  # the schedule is an explicit AWS::Events::Rule (schedules.py)
    raise AssertionError(f"no function for a {config.type} step")


def _fifo_queue_env(fifo_routes: dict[str, list[str]]) -> dict[str, str]:
    """``{"topic": ["<queue url>", ...]}`` as one JSON string (Ref of a queue is its URL)."""
    placeholders = {topic: [f"@@{q}@@" for q in queues] for topic, queues in sorted(fifo_routes.items())}
    text = json.dumps(placeholders, separators=(",", ":"))
    # "${" in a topic name would be read as a Fn::Sub variable; "${!" is Fn::Sub's escape.
    text = text.replace("${", "${!")
    for queues in fifo_routes.values():
        for queue in queues:
            text = text.replace(f"@@{queue}@@", f"${{{queue}}}")
    return sub(text)

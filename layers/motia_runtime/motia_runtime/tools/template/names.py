"""Logical ids, fixed resource names and the ``Metadata.Motia`` tags the moto harness looks for.

Every name the template uses is defined here once, so the resource modules and the tests agree.
"""

from __future__ import annotations

import re
from typing import Any

# Fixed logical ids of the app-wide resources.
LAYER = "MotiaRuntimeLayer"
DEPS_LAYER = "AppDependenciesLayer"
HTTP_API = "HttpApi"
BUS = "EventBus"
STATE_TABLE = "StateTable"
STREAMS_TABLE = "StreamsTable"
CONNECTIONS_TABLE = "ConnectionsTable"
FANOUT_FUNCTION = "FanoutFunction"
FANOUT_FAILURES = "FanoutFailureQueue"
TRIGGERS_FUNCTION = "TriggersFunction"
TRIGGERS_FAILURES = "TriggersFailureQueue"
DELIVERY_QUEUE = "DeliveryQueue"
DELIVERY_DLQ = "DeliveryDeadLetterQueue"
DELIVERY_FUNCTION = "DeliveryFunction"
DELIVERY_DLQ_ALARM = "DeliveryDeadLetterAlarm"
DELIVERY_AGE_ALARM = "DeliveryBacklogAlarm"
WS_FUNCTION = "WebSocketFunction"
WS_API = "WebSocketApi"
WS_INTEGRATION = "WebSocketIntegration"
WS_DEPLOYMENT = "WebSocketDeployment"  # + a hash of the routes (websocket.py)
WS_STAGE = "WebSocketStage"
WS_PERMISSION = "WebSocketInvokePermission"

# The WebSocket stage name is a literal, not a Ref to the Stage: the WebSocket function's
# environment and policy need it, and the Stage depends (through Deployment -> Routes ->
# Integration) on that same function, so a Ref would be a circular dependency.
WS_STAGE_NAME = "prod"

# Where `motia build` writes the function code (functions/, streams/, include files: the app's
# own files only) and the two layers (tools/layers.py). Inside .aws-sam/ because they are build
# artefacts that are already git-ignored; `sam build` only wipes .aws-sam/build.
CODE_URI = ".aws-sam/app/"
LAYERS_DIR = ".aws-sam/layers/"
LAYER_URI = LAYERS_DIR + "runtime/"
DEPS_LAYER_URI = LAYERS_DIR + "deps/"

# Lambda handler strings (the contract with motia_runtime.hosts.aws).
HANDLERS = {
    "api": "motia_runtime.hosts.aws.api.handler",
    "event": "motia_runtime.hosts.aws.queue.handler",
    "cron": "motia_runtime.hosts.aws.schedule.handler",
    "websocket": "motia_runtime.hosts.aws.websocket.handler",
    "fanout": "motia_runtime.hosts.aws.fanout.handler",
    "triggers": "motia_runtime.hosts.aws.triggers.handler",
    # Stream and state trigger steps are fed by their queues, like event steps.
    "stream": "motia_runtime.hosts.aws.queue.handler",
    "state": "motia_runtime.hosts.aws.queue.handler",
    "delivery": "motia_runtime.hosts.aws.delivery.handler",
}


def step_base(step_name: str) -> str:
    """A CloudFormation-safe logical id prefix for a step (ids are alphanumeric only).

    ``open-ai.call_v2`` becomes ``OpenAiCallV2``. Distinct names can map to the same id, so
    the builder checks for collisions and names both step files.
    """
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", step_name) if p]
    base = "".join(p[0].upper() + p[1:] for p in parts)
    if not base or not base[0].isalpha():
        base = "Step" + base
    return base


def step_metadata(step_name: str, role: str) -> dict[str, Any]:
    return {"Motia": {"step": step_name, "role": role}}


def app_metadata(role: str) -> dict[str, Any]:
    return {"Motia": {"role": role}}


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}

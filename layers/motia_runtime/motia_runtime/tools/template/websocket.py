"""The stream push path: the WebSocket API (plain CloudFormation), its function, and the fan-out.

SAM has no WebSocket API resource (serverless-application-model#727), so the API, its routes,
integration, deployment, stage and invoke permission are ``AWS::ApiGatewayV2::*``. The builder
places them after the Serverless functions: ``sam local start-api`` picks its API provider from
the first API-like resource and crashes on a ``$connect`` route key (aws-sam-cli#2610).

Routes have no route responses: the function answers join/leave/errors by posting frames to the
connection (``execute-api:ManageConnections``), not through its return value.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from .names import (
    CONNECTIONS_TABLE,
    FANOUT_FAILURES,
    FANOUT_FUNCTION,
    HANDLERS,
    STATE_TABLE,
    STREAMS_TABLE,
    WS_API,
    WS_DEPLOYMENT,
    WS_FUNCTION,
    WS_INTEGRATION,
    WS_PERMISSION,
    WS_STAGE,
    WS_STAGE_NAME,
    app_metadata,
    get_att,
    ref,
    sub,
)

if TYPE_CHECKING:
    from ...project import Project

# route key -> logical id. The client's message {"type": "join"|"leave", ...} selects the route.
ROUTES = {
    "$connect": "WebSocketConnectRoute",
    "$disconnect": "WebSocketDisconnectRoute",
    "join": "WebSocketJoinRoute",
    "leave": "WebSocketLeaveRoute",
    "$default": "WebSocketDefaultRoute",
}
ROUTE_SELECTION = "$request.body.type"

# Fan-out tuning. 100 records per batch keeps the per-batch subscriber lookup cheap while a
# burst of updates still leaves in one invocation; no batching window, so latency is the
# 4-per-second shard poll. A poison record is bisected out, retried 3 times, then its
# position is sent to FanoutFailureQueue instead of blocking the shard for 24 h.
FANOUT_BATCH_SIZE = 100
FANOUT_MAX_RETRIES = 3
FANOUT_MEMORY = 512
FANOUT_TIMEOUT = 60
WS_MEMORY = 512
WS_TIMEOUT = 15  # API Gateway waits at most 29 s for an integration


def manage_connections_policy() -> dict[str, Any]:
    """``execute-api:ManageConnections`` on this API's stage only (SAM has no template for it):
    POST (``PostToConnection``, every frame) and DELETE (``DeleteConnection``: the pusher's
    ``close``); never GET (the runtime does not read connections)."""
    resources = [
        sub(f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{WS_API}}}"
            f"/{WS_STAGE_NAME}/{method}/@connections/*")
        for method in ("POST", "DELETE")
    ]
    return {
        "Statement": [
            {"Effect": "Allow", "Action": ["execute-api:ManageConnections"], "Resource": resources}
        ]
    }


def fanout() -> dict[str, dict[str, Any]]:
    return {
        FANOUT_FAILURES: {
            "Type": "AWS::SQS::Queue",
            "Metadata": app_metadata("fanout-dlq"),
            "Properties": {"MessageRetentionPeriod": 14 * 24 * 3600},
        },
        FANOUT_FUNCTION: {
            "Type": "AWS::Serverless::Function",
            "Metadata": app_metadata("fanout"),
            "Properties": {
                "Description": "Motia streams: push DynamoDB stream changes to WebSocket subscribers",
                "Handler": HANDLERS["fanout"],
                "MemorySize": FANOUT_MEMORY,
                "Timeout": FANOUT_TIMEOUT,
                "Policies": [
                    # Query subscribers by room, delete connections that answer 410 Gone. The
                    # changes come in the event (the table's stream, read by Lambda's poller with
                    # the DynamoDB execution role SAM attaches): no right on the streams table.
                    {"DynamoDBCrudPolicy": {"TableName": ref(CONNECTIONS_TABLE)}},
                    manage_connections_policy(),
                ],
                "Events": {
                    "Stream": {
                        "Type": "DynamoDB",
                        "Properties": {
                            "Stream": get_att(STREAMS_TABLE, "StreamArn"),
                            "StartingPosition": "LATEST",
                            "BatchSize": FANOUT_BATCH_SIZE,
                            "MaximumBatchingWindowInSeconds": 0,
                            "BisectBatchOnFunctionError": True,
                            "MaximumRetryAttempts": FANOUT_MAX_RETRIES,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            # Type SQS lets SAM add sqs:SendMessage on this queue to the role.
                            "DestinationConfig": {
                                "OnFailure": {"Type": "SQS", "Destination": get_att(FANOUT_FAILURES, "Arn")}
                            },
                        },
                    }
                },
            },
        },
    }


def data_policies(project: Project) -> list[dict[str, Any]]:
    """What the WebSocket function may do with the app's data. A join sends a sync snapshot read
    from the stream items; what else runs in it writes: presence (a member row in the state table,
    a ``presence.join`` event in the streams table), client events (sent to the group: the streams
    table) and ``on_join`` hooks (a step context: state and streams)."""
    streams = project.streams.values()
    writes_state = any(c.presence is not None or c.on_join is not None for c in streams)
    writes_streams = writes_state or any(c.client_events is not None for c in streams)
    return [{"DynamoDBCrudPolicy" if writes_streams else "DynamoDBReadPolicy": {"TableName": ref(STREAMS_TABLE)}},
            *([{"DynamoDBCrudPolicy": {"TableName": ref(STATE_TABLE)}}] if writes_state else [])]


def websocket_function(project: Project) -> dict[str, dict[str, Any]]:
    return {
        WS_FUNCTION: {
            "Type": "AWS::Serverless::Function",
            "Metadata": app_metadata("websocket"),
            "Properties": {
                "Description": "Motia streams: WebSocket $connect/$disconnect/join/leave/$default",
                "Handler": HANDLERS["websocket"],
                "MemorySize": WS_MEMORY,
                "Timeout": WS_TIMEOUT,
                "Policies": [
                    {"DynamoDBCrudPolicy": {"TableName": ref(CONNECTIONS_TABLE)}},
                    *data_policies(project),
                    manage_connections_policy(),
                ],
            },
        }
    }


def deployment_logical_id(api_resources: dict[str, dict[str, Any]]) -> str:
    """``WebSocketDeployment<hash of the API, its routes and integration>``: CloudFormation makes a
    new deployment only when the logical id changes, so a changed route set gets deployed (a fixed
    id would leave the stage serving the old routes)."""
    text = json.dumps(api_resources, sort_keys=True, separators=(",", ":"))
    return WS_DEPLOYMENT + hashlib.sha256(text.encode()).hexdigest()[:10]


def websocket_api() -> dict[str, dict[str, Any]]:
    api_ref = ref(WS_API)
    resources: dict[str, dict[str, Any]] = {
        WS_API: {
            "Type": "AWS::ApiGatewayV2::Api",
            "Metadata": app_metadata("websocket-api"),
            "Properties": {
                "Name": sub("${AWS::StackName}-streams"),
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": ROUTE_SELECTION,
            },
        },
        WS_INTEGRATION: {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Metadata": app_metadata("websocket-integration"),
            "Properties": {
                "ApiId": api_ref,
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                    f"${{{WS_FUNCTION}.Arn}}/invocations"
                ),
            },
        },
    }
    for route_key, route_id in ROUTES.items():
        resources[route_id] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Metadata": app_metadata("websocket-route"),
            "Properties": {
                "ApiId": api_ref,
                "RouteKey": route_key,
                # Auth runs inside the $connect handler (the project's authenticate()), which
                # also echoes the Sec-WebSocket-Protocol the browser client sends.
                "AuthorizationType": "NONE",
                "Target": {"Fn::Join": ["/", ["integrations", ref(WS_INTEGRATION)]]},
            },
        }
    deployment_id = deployment_logical_id(resources)
    resources[deployment_id] = {
        "Type": "AWS::ApiGatewayV2::Deployment",
        # "At least one route is required before deploying the Api".
        "DependsOn": list(ROUTES.values()),
        "Metadata": app_metadata("websocket-deployment"),
        "Properties": {"ApiId": api_ref},
    }
    resources[WS_STAGE] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Metadata": app_metadata("websocket-stage"),
        "Properties": {"ApiId": api_ref, "StageName": WS_STAGE_NAME, "DeploymentId": ref(deployment_id)},
    }
    resources[WS_PERMISSION] = {
        "Type": "AWS::Lambda::Permission",
        "Metadata": app_metadata("websocket-permission"),
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ref(WS_FUNCTION),
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": sub(
                f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{WS_API}}}/*"
            ),
        },
    }
    return resources


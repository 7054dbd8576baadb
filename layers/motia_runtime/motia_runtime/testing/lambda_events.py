"""Lambda events shaped the way AWS sends them, for driving the entry points in tests.

Shapes follow the AWS documentation of each event source: HTTP API payload v2, SQS (from an
event source mapping), DynamoDB Streams, API Gateway WebSocket and EventBridge scheduled events.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

ACCOUNT_ID = "123456789012"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _request_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def http_api(method: str, path: str, *, route_key: str, path_params: Mapping[str, str] | None = None,
             query: Mapping[str, Any] | str | None = None, headers: Mapping[str, str] | None = None,
             body: str | bytes | None = None, api_id: str = "httpapi01", region: str = "us-east-1") -> dict[str, Any]:
    """An HTTP API payload v2 event (headers lower-cased, repeated query keys joined by commas)."""
    raw_query = query if isinstance(query, str) else urlencode(dict(query or {}), doseq=True)
    joined: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        joined.setdefault(key, []).append(value)
    now = _now_ms()
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    lower.setdefault("host", domain)
    lower.setdefault("user-agent", "motia-sim")
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": raw_query, "headers": lower,
        "requestContext": {
            "accountId": ACCOUNT_ID, "apiId": api_id, "domainName": domain, "domainPrefix": api_id,
            "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": lower["user-agent"]},
            "requestId": uuid.uuid4().hex, "routeKey": route_key, "stage": "$default", "time": _request_time(now),
            "timeEpoch": now,
        },
        "isBase64Encoded": False,
    }
    if joined:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in joined.items()}
    if path_params:
        event["pathParameters"] = dict(path_params)
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    elif body is not None:
        event["body"] = body
    return event


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str = "us-east-1") -> dict[str, Any]:
    """A Lambda SQS record from a ReceiveMessage result (with all system attributes)."""
    return {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}), "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def dynamodb_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A Lambda DynamoDB stream record from a GetRecords result (times as epoch seconds)."""
    out: dict[str, Any] = json.loads(json.dumps(record, default=str))
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        out["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    out["eventSourceARN"] = stream_arn
    return out


def _ws_context(route: str, event_type: str, connection_id: str, api_id: str, stage: str, region: str,
                connected_at: int) -> dict[str, Any]:
    now = _now_ms()
    return {
        "routeKey": route, "eventType": event_type, "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": _request_time(now), "messageDirection": "IN", "stage": stage, "connectedAt": connected_at,
        "requestTimeEpoch": now, "identity": {"sourceIp": "127.0.0.1", "userAgent": "motia-sim"},
        "requestId": uuid.uuid4().hex[:16], "domainName": f"{api_id}.execute-api.{region}.amazonaws.com",
        "connectionId": connection_id, "apiId": api_id,
    }


def ws_connect(connection_id: str, *, api_id: str, stage: str, region: str = "us-east-1",
               subprotocols: list[str] | None = None, query: Mapping[str, str] | None = None,
               headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A ``$connect`` event; subprotocols arrive as ``Sec-WebSocket-Protocol: a, b``."""
    all_headers = {
        "Host": f"{api_id}.execute-api.{region}.amazonaws.com", "Sec-WebSocket-Key": uuid.uuid4().hex[:22] + "==",
        "Sec-WebSocket-Version": "13", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https", **(headers or {}),
    }
    if subprotocols:
        all_headers["Sec-WebSocket-Protocol"] = ", ".join(subprotocols)
    event: dict[str, Any] = {
        "headers": all_headers, "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "requestContext": _ws_context("$connect", "CONNECT", connection_id, api_id, stage, region, _now_ms()),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def ws_message(connection_id: str, body: str | bytes, *, route: str, api_id: str, stage: str,
               region: str = "us-east-1", connected_at: int | None = None) -> dict[str, Any]:
    """A message event; a binary frame (``bytes``) arrives base64-encoded, as API Gateway sends it."""
    context = _ws_context(route, "MESSAGE", connection_id, api_id, stage, region, connected_at or _now_ms())
    context["messageId"] = uuid.uuid4().hex[:16]
    if isinstance(body, bytes):
        return {"requestContext": context, "body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def ws_disconnect(connection_id: str, *, api_id: str, stage: str, region: str = "us-east-1",
                  connected_at: int | None = None) -> dict[str, Any]:
    context = _ws_context("$disconnect", "DISCONNECT", connection_id, api_id, stage, region,
                          connected_at or _now_ms())
    context |= {"disconnectStatusCode": 1000, "disconnectReason": "Client-side close frame"}
    return {"headers": {"Host": context["domainName"]}, "requestContext": context, "isBase64Encoded": False}


def route_for(body: str | bytes, routes: tuple[str, ...] = ("join", "leave")) -> str:
    """API Gateway's route selection on ``$request.body.type``: a known route, else ``$default``
    (binary frames and anything unreadable included)."""
    if isinstance(body, bytes):
        return "$default"
    try:
        kind = json.loads(body).get("type")
    except (ValueError, AttributeError, TypeError, RecursionError):
        return "$default"
    return kind if kind in routes else "$default"


def scheduled(rule_arn: str, region: str = "us-east-1") -> dict[str, Any]:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": ACCOUNT_ID, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
        "resources": [rule_arn], "detail": {},
    }

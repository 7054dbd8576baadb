"""Handlers of the hand-written SAM app tests/cloud/test_motia_cloud.py serves with `motia cloud`.

Each records what it saw in the Seen table (moto), so the test reads what the emulator did.
"""

import json
import os
import time

import boto3

VERSION = "v1"  # the reload test rewrites this line


def _seen(key: str, **values: object) -> None:
    boto3.client("dynamodb").put_item(TableName=os.environ["SEEN_TABLE"], Item={
        "pk": {"S": key}, "data": {"S": json.dumps(values)}})


def http(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-version": VERSION},
            "cookies": ["a=1"],
            "body": json.dumps({"pid": os.getpid(), "routeKey": event["routeKey"], "rawPath": event["rawPath"],
                                "params": event.get("pathParameters"), "query": event.get("queryStringParameters"),
                                "body": event.get("body"), "base64": event["isBase64Encoded"],
                                "cookies": event.get("cookies"), "setting": os.environ.get("APP_SETTING"),
                                "memory": context.memory_limit_in_mb, "version": VERSION})}


def plain(event, context):
    return {"hello": "world"}


def boom(event, context):
    raise RuntimeError("boom")


def slow(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("s", "0.5")))
    return {"pid": os.getpid()}


def crash(event, context):
    os._exit(3)


def ws(event, context):
    ctx = event["requestContext"]
    route = ctx["routeKey"]
    if route == "$connect":
        if (event.get("queryStringParameters") or {}).get("token") == "bad":
            return {"statusCode": 401, "body": "no"}
        offered = (event.get("headers") or {}).get("Sec-WebSocket-Protocol")
        _seen(f"connect:{ctx['connectionId']}", query=event.get("queryStringParameters"),
              agent=event["headers"].get("User-Agent"))
        return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": offered.split(",")[-1].strip()}
                if offered else {}}
    api = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["WS_ENDPOINT"])
    if route == "$disconnect":
        try:
            api.post_to_connection(ConnectionId=ctx["connectionId"], Data=b"late")
            gone = False
        except api.exceptions.GoneException:
            gone = True
        _seen(f"disconnect:{ctx['connectionId']}", gone=gone, code=ctx.get("disconnectStatusCode"))
        return {"statusCode": 200}
    info = api.get_connection(ConnectionId=ctx["connectionId"])
    api.post_to_connection(ConnectionId=ctx["connectionId"], Data=json.dumps(
        {"route": route, "body": event.get("body"), "sourceIp": info["Identity"]["SourceIp"]}).encode())
    if json.loads(event["body"]).get("close"):
        api.delete_connection(ConnectionId=ctx["connectionId"])
    return {"statusCode": 200}


def jobs(event, context):
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            _seen(f"job:{body['id']}", batch=len(event["Records"]),
                  receives=record["attributes"]["ApproximateReceiveCount"])
    return {"batchItemFailures": failures}


def on_item(event, context):
    for record in event["Records"]:
        key = record["dynamodb"]["Keys"]["pk"]["S"]
        _seen(f"stream:{key}", event=record["eventName"], batch=len(event["Records"]))


def tick(event, context):
    _seen("tick", source=event["source"], detail_type=event["detail-type"])

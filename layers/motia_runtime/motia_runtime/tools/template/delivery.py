"""The big-room fan-out's second hop: the delivery queue, its workers, their alarms and settings.

A change to a big room (docs/scaling.md) leaves the stream consumer (``FanoutFunction``) as one
SQS FIFO message per room shard; ``DeliveryFunction`` posts each to its shard's subscribers, in
order per message group, as many groups at once as ``DeliveryMaxConcurrency`` allows. The queue
is an ordinary SQS event source of an ordinary function, so anything that runs the template's
queues runs this path too.

``wire()`` adds to the functions this module does not own only what the path needs: the shard
settings on the WebSocket function (a join picks its shard) and the consumer, and the queue's URL
and ``sqs:SendMessage`` on the consumer.
"""

from __future__ import annotations

from typing import Any

from ...adapters.aws.subscriptions import DEFAULT_BIG_ROOM, DEFAULT_SHARDS
from .names import (
    CONNECTIONS_TABLE,
    DELIVERY_AGE_ALARM,
    DELIVERY_DLQ,
    DELIVERY_DLQ_ALARM,
    DELIVERY_FUNCTION,
    DELIVERY_QUEUE,
    FANOUT_FUNCTION,
    HANDLERS,
    WS_API,
    WS_FUNCTION,
    WS_STAGE_NAME,
    app_metadata,
    get_att,
    ref,
    sub,
)

FANOUT_SHARDS = "FanoutShards"
FANOUT_BIG_ROOM = "FanoutBigRoom"
DELIVERY_MAX_CONCURRENCY = "DeliveryMaxConcurrency"

# 1,769 MB is one full vCPU: posting is CPU-bound past ~3,000 posts/s (signing, HTTP), and a
# shard of a big room is up to ~1,500 connections (bench/RESULTS.md, docs/scaling.md).
DELIVERY_MEMORY = 1769
DELIVERY_TIMEOUT = 30
# The back-off of a message that failed (a throttled or slow client): it is visible again after
# this. Longer than the function's timeout, so a running attempt is never handed out twice.
DELIVERY_VISIBILITY = 40
DELIVERY_MAX_RECEIVES = 5  # the worker disconnects clients still behind from its 3rd attempt
DELIVERY_RETENTION = 12 * 3600  # under the 24 h the workers' ledger is kept
AGE_ALARM_S = 30
# Concurrent batches per stream shard: records of one stream group (one partition key) stay in
# order across them, and different groups no longer wait for each other.
FANOUT_PARALLELIZATION = 10


def parameters() -> dict[str, Any]:
    return {
        FANOUT_SHARDS: {
            "Type": "Number", "Default": DEFAULT_SHARDS, "MinValue": 1, "MaxValue": 1000,
            "Description": "MOTIA_FANOUT_SHARDS: shards of a big room (one delivery invocation each per update); "
                           "about subscribers / 1,500 for the largest room (docs/scaling.md). 1 turns sharding off.",
        },
        FANOUT_BIG_ROOM: {
            "Type": "Number", "Default": DEFAULT_BIG_ROOM, "MinValue": 1,
            "Description": "MOTIA_FANOUT_BIG_ROOM: joins after which a room is sharded and served through the "
                           "delivery queue; smaller rooms are pushed in one hop.",
        },
        DELIVERY_MAX_CONCURRENCY: {
            "Type": "Number", "Default": 200, "MinValue": 2, "MaxValue": 1000,
            "Description": "Most delivery invocations at once (the SQS event source's MaximumConcurrency); at least "
                           "FanoutShards times the big rooms updated at once (docs/scaling.md).",
        },
    }


def _settings() -> dict[str, Any]:
    return {"MOTIA_FANOUT_SHARDS": ref(FANOUT_SHARDS), "MOTIA_FANOUT_BIG_ROOM": ref(FANOUT_BIG_ROOM)}


def _manage_connections() -> dict[str, Any]:
    """POST (PostToConnection) and DELETE (closing a client that cannot keep up) on this API's
    stage only."""
    base = f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{WS_API}}}/{WS_STAGE_NAME}"
    return {"Statement": [{"Effect": "Allow", "Action": ["execute-api:ManageConnections"],
                           "Resource": sub(f"{base}/{method}/@connections/*")} for method in ("POST", "DELETE")]}


def resources() -> dict[str, dict[str, Any]]:
    return {
        DELIVERY_DLQ: {
            "Type": "AWS::SQS::Queue",
            "Metadata": app_metadata("delivery-dlq"),
            "Properties": {"FifoQueue": True, "MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True},
        },
        DELIVERY_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Metadata": app_metadata("delivery-queue"),
            "Properties": {
                "FifoQueue": True,
                # High-throughput FIFO: the limit is per message group (300/s), not per queue.
                "DeduplicationScope": "messageGroup",
                "FifoThroughputLimit": "perMessageGroupId",
                "VisibilityTimeout": DELIVERY_VISIBILITY,
                "MessageRetentionPeriod": DELIVERY_RETENTION,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": get_att(DELIVERY_DLQ, "Arn"),
                                  "maxReceiveCount": DELIVERY_MAX_RECEIVES},
            },
        },
        DELIVERY_FUNCTION: {
            "Type": "AWS::Serverless::Function",
            "Metadata": app_metadata("delivery"),
            "Properties": {
                "Description": "Motia streams: post a big room shard's changes to its WebSocket subscribers",
                "Handler": HANDLERS["delivery"],
                "MemorySize": DELIVERY_MEMORY,
                "Timeout": DELIVERY_TIMEOUT,
                "Environment": {"Variables": _settings()},
                "Policies": [
                    # Query a room shard, read and write the delivery ledger, remove gone connections.
                    {"DynamoDBCrudPolicy": {"TableName": ref(CONNECTIONS_TABLE)}},
                    _manage_connections(),
                ],
                "Events": {
                    "Deliveries": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": get_att(DELIVERY_QUEUE, "Arn"),
                            # A message already holds a stream batch's entries for its shard; a
                            # batch of several would serve several shards one after another.
                            "BatchSize": 1,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            "ScalingConfig": {"MaximumConcurrency": ref(DELIVERY_MAX_CONCURRENCY)},
                        },
                    }
                },
            },
        },
        DELIVERY_DLQ_ALARM: {
            "Type": "AWS::CloudWatch::Alarm",
            "Metadata": app_metadata("delivery-alarm"),
            "Properties": {
                "AlarmDescription": "Big-room deliveries were dead-lettered: some subscribers missed changes",
                "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": get_att(DELIVERY_DLQ, "QueueName")}],
                "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            },
        },
        DELIVERY_AGE_ALARM: {
            "Type": "AWS::CloudWatch::Alarm",
            "Metadata": app_metadata("delivery-alarm"),
            "Properties": {
                "AlarmDescription": f"Big-room deliveries are over {AGE_ALARM_S} s behind: raise "
                                    f"{DELIVERY_MAX_CONCURRENCY} or {FANOUT_SHARDS} (docs/scaling.md)",
                "Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": get_att(DELIVERY_QUEUE, "QueueName")}],
                "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 2, "Threshold": AGE_ALARM_S,
                "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            },
        },
    }


def wire(resources: dict[str, dict[str, Any]]) -> None:
    """Give the consumer and the WebSocket function what the delivery path needs of them."""
    for logical_id in (WS_FUNCTION, FANOUT_FUNCTION):
        props = resources[logical_id]["Properties"]
        props.setdefault("Environment", {}).setdefault("Variables", {}).update(_settings())
    fanout = resources[FANOUT_FUNCTION]["Properties"]
    fanout["Environment"]["Variables"]["MOTIA_DELIVERY_QUEUE"] = ref(DELIVERY_QUEUE)
    # As a FIFO subscriber's queue is granted (queues.py): SendMessage on that queue only.
    fanout["Policies"].append({"Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"],
                                              "Resource": get_att(DELIVERY_QUEUE, "Arn")}]})
    fanout["Events"]["Stream"]["Properties"]["ParallelizationFactor"] = FANOUT_PARALLELIZATION

"""AWS adapters: DynamoDB state, streams and subscriptions, EventBridge (+ SQS FIFO) events, and
the API Gateway Management API for pushing frames. Each takes an optional boto3 client (tests
pass moto-backed ones) and otherwise creates one on first use; botocore errors are translated to
``motia_runtime.errors`` types here, at the edge.

Importing this package imports botocore but not boto3 (created lazily with the first client).
"""

from .bus import EventBridgeBus
from .pusher import ApiGatewayPusher
from .state import DynamoDBStateStore
from .streams import DynamoDBStreamStore
from .subscriptions import ConnectionRecord, DynamoDBSubscriptions

__all__ = [
    "ApiGatewayPusher",
    "ConnectionRecord",
    "DynamoDBStateStore",
    "DynamoDBStreamStore",
    "DynamoDBSubscriptions",
    "EventBridgeBus",
]

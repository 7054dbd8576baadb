"""AWS adapters: DynamoDB state, streams and subscriptions, EventBridge (+ SQS FIFO) events, and
the API Gateway Management API for pushing frames. Each takes an optional boto3 client (tests
pass moto-backed ones) and otherwise creates one on first use; botocore errors are translated to
``motia_runtime.errors`` types here, at the edge.

Importing this package imports none of them: each name below is imported on first use (PEP 562),
so a Lambda entry point loads only the adapters it uses (an API function neither the pusher nor
the subscriptions). An adapter module imports botocore but not boto3 (created lazily with the
first client).
"""

from typing import TYPE_CHECKING, Any

_LAZY = {
    "ApiGatewayPusher": "pusher", "ConnectionRecord": "subscriptions", "DynamoDBStateStore": "state",
    "DynamoDBStreamStore": "streams", "DynamoDBSubscriptions": "subscriptions", "EventBridgeBus": "bus",
}

if TYPE_CHECKING:
    from .bus import EventBridgeBus
    from .pusher import ApiGatewayPusher
    from .state import DynamoDBStateStore
    from .streams import DynamoDBStreamStore
    from .subscriptions import ConnectionRecord, DynamoDBSubscriptions


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "ApiGatewayPusher",
    "ConnectionRecord",
    "DynamoDBStateStore",
    "DynamoDBStreamStore",
    "DynamoDBSubscriptions",
    "EventBridgeBus",
]

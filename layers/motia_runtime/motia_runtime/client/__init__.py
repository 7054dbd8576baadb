"""A Python client for Motia's stream WebSocket protocol (async, on ``websockets``).

Imported by path (``from motia_runtime.client import StreamClient``) so that ``import
motia_runtime`` never loads ``websockets``::

    async with StreamClient("ws://127.0.0.1:3000") as client:
        async for item in client.subscribe_item("openai", group_id, "message"):
            print(item["message"])

``motia_runtime.client.blocking`` has blocking helpers for scripts (``client.sync`` is its old name,
kept as an alias).
"""

from .backoff import Backoff
from .connection import ConnectionStatus, StreamClient
from .subscription import Change, GroupSubscription, ItemSubscription, StreamSubscription

__all__ = [
    "Backoff",
    "Change",
    "ConnectionStatus",
    "GroupSubscription",
    "ItemSubscription",
    "StreamClient",
    "StreamSubscription",
]

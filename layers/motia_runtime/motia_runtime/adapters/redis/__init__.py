"""Redis adapters (the ``redis`` extra): state and streams shared by several ``motia dev`` workers
or machines, with changes fanned out to every worker over pub/sub; see docs/storage.md.

    motia dev --redis-url redis://127.0.0.1:6379/0 --workers 4

Key layout: ``_connection.Keys``. Errors are ``RedisStreamError``/``RedisStateError`` (also
``StreamError``/``StateError``) naming the server, with any password masked.
"""

from ._connection import RedisStateError, RedisStoreError, RedisStreamError, check_reachable, redact
from .backend import RedisBackend
from .cron import RedisCronLock
from .state import RedisStateStore
from .streams import RedisStreamStore

__all__ = [
    "RedisBackend",
    "RedisCronLock",
    "RedisStateError",
    "RedisStateStore",
    "RedisStoreError",
    "RedisStreamError",
    "RedisStreamStore",
    "check_reachable",
    "redact",
]

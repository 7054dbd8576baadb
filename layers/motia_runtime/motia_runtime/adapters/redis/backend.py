"""What ``motia dev --redis-url`` wires in: state, streams and cron slots on one connection pool."""

from __future__ import annotations

from ._connection import make_client
from .cron import RedisCronLock
from .state import RedisStateStore
from .streams import RedisStreamStore


class RedisBackend:
    def __init__(self, url: str, *, prefix: str = "motia") -> None:
        self.url = url
        self.prefix = prefix
        self.client = make_client(url)

    def state_store(self) -> RedisStateStore:
        return RedisStateStore(self.url, prefix=self.prefix, client=self.client)

    def stream_store(self) -> RedisStreamStore:
        return RedisStreamStore(self.url, prefix=self.prefix, client=self.client)

    def cron_lock(self) -> RedisCronLock:
        return RedisCronLock(self.client, self.url, prefix=self.prefix)

    async def aclose(self) -> None:
        await self.client.aclose()

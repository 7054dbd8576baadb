"""One run per cron slot across every worker sharing the Redis server.

Each worker schedules every cron step; when a slot is due, the first worker to ``SET NX`` the
slot's key runs it and the others skip. Slots are named by their due time (computed the same
way by every worker from the cron expression), so this holds across machines as well.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

import redis.asyncio

from ._connection import Keys, RedisStoreError, guarded

# Long enough that a worker whose clock is behind still finds the key of a slot already run.
SLOT_TTL_MS = 60 * 60 * 1000


class RedisCronLock:
    def __init__(self, client: redis.asyncio.Redis, url: str, *, prefix: str = "motia") -> None:
        self.client = client
        self.url = url
        self.keys = Keys(prefix)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    async def claim(self, step: str, due: datetime) -> bool:
        """True when this worker is the one to run ``step``'s slot due at ``due``."""
        key = self.keys.cron(step, int(due.timestamp() * 1000))
        taken = await guarded(self.client.set(key, self.owner, nx=True, px=SLOT_TTL_MS), RedisStoreError,
                              f"cron slot {step}@{due.isoformat()}", self.url)
        return bool(taken)

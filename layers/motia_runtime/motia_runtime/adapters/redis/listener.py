"""The change listener: one pub/sub subscription per store, kept alive across Redis outages.

While the subscription is down, changes published by other workers cannot reach this one, and
pub/sub does not replay them. So after every reconnection the listener calls ``on_resync``: the
host then makes its clients read fresh snapshots (nothing that happened meanwhile is lost to
them). A silent dead link (no RST, e.g. a cable pulled) is caught by PINGs on an idle subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio

from ...log import StepLogger
from ...tasks import stop_task
from ._connection import RedisStreamError, describe, redact

PING_AFTER_IDLE_S = 5.0
DEAD_AFTER_S = 15.0
RETRY_MIN_S = 0.1
RETRY_MAX_S = 2.0
SUBSCRIBE_TIMEOUT_S = 5.0
_ERRORS = (redis.RedisError, OSError, TimeoutError)


class ChangeListener:
    def __init__(self, client: redis.asyncio.Redis, url: str, channel: str, on_message: Callable[[str], None],
                 on_resync: Callable[[], None]) -> None:
        self.client = client
        self.url = redact(url)
        self.channel = channel
        self.on_message = on_message
        self.on_resync = on_resync
        self.connected = asyncio.Event()
        self.reconnections = 0
        self._task: asyncio.Task[None] | None = None
        self._log = StepLogger({"component": "redis-feed", "redis": self.url})

    async def start(self) -> None:
        """Subscribe before returning, so no change made after this is missed; raises
        ``RedisStreamError`` naming the server when it cannot be reached."""
        try:
            pubsub = await self._subscribe()
        except _ERRORS as exc:
            raise RedisStreamError(f"cannot subscribe to stream changes on Redis at {self.url}: {describe(exc)}",
                                   self.url) from exc
        self._task = asyncio.create_task(self._run(pubsub), name=f"redis-feed:{self.channel}")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _subscribe(self) -> Any:
        pubsub = self.client.pubsub()
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                await pubsub.subscribe(self.channel)
                # The confirmation: from here on every PUBLISH to the channel reaches us.
                while True:
                    message = await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
                    if message is not None and message["type"] == "subscribe":
                        break
        except BaseException:
            await _close(pubsub)
            raise
        self.connected.set()
        return pubsub

    async def _run(self, pubsub: Any) -> None:
        while True:
            try:
                await self._pump(pubsub)
            except Exception as exc:  # any failure: reconnect rather than end the feed for good
                self.connected.clear()
                self._log.warning(f"lost the stream change feed from Redis at {self.url} ({describe(exc)}); "
                                  "reconnecting, then clients are told to resync")
            finally:
                await _close(pubsub)
            pubsub = await self._reconnect()
            self.reconnections += 1
            self._log.warning(f"stream change feed from Redis at {self.url} is back; resyncing clients")
            self._safely(self.on_resync)

    async def _pump(self, pubsub: Any) -> None:
        last_heard = time.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=PING_AFTER_IDLE_S)
            now = time.monotonic()
            if message is None:
                if now - last_heard > DEAD_AFTER_S:
                    raise redis.ConnectionError(f"no answer to PING for {DEAD_AFTER_S:.0f}s")
                if not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            if message["type"] == "message":
                self._safely(self.on_message, message["data"])

    async def _reconnect(self) -> Any:
        delay = RETRY_MIN_S
        while True:
            await asyncio.sleep(delay)
            try:
                return await self._subscribe()
            except _ERRORS:
                delay = min(delay * 2, RETRY_MAX_S)

    def _safely(self, fn: Callable[..., None], *args: Any) -> None:
        # A listener's bug must not stop the feed for every other client.
        try:
            fn(*args)
        except Exception as exc:
            self._log.exception(f"stream change listener failed: {type(exc).__name__}: {exc}")


async def _close(pubsub: Any) -> None:
    with contextlib.suppress(*_ERRORS):
        await pubsub.aclose()

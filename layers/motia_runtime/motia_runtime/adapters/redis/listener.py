"""The change listener: one pub/sub subscription per store, kept alive across Redis outages.

While the subscription is down, changes published by other workers cannot reach this one, and
pub/sub does not replay them. So after every reconnection the listener calls ``on_resync``: the
host then makes its clients read fresh snapshots (nothing that happened meanwhile is lost to
them). A silent dead link (no RST, e.g. a cable pulled) is caught by PINGs on an idle subscription.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio

from ...log import StepLogger
from ...tasks import stop_task
from ._connection import RedisStreamError, describe, redact
from ._feed import FeedProtocol, open_feed

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

    async def start(self) -> bool:
        """Subscribe before returning, so no change made after this is missed: True. Raises
        ``RedisStreamError`` naming the server when it refuses (a password, an ACL), as that lasts.

        When the server cannot be reached, False: the feed keeps trying in the background and
        resyncs once it is subscribed, as after any outage. ``motia dev`` checked the server before
        starting its workers; a worker starting now replaces one that died during an outage, and
        failing its start made uvicorn stop every worker (a Redis blip took the whole server down)."""
        try:
            feed: FeedProtocol | None = await self._subscribe()
        except redis.ResponseError as exc:
            raise RedisStreamError(f"cannot subscribe to stream changes on Redis at {self.url}: {describe(exc)}",
                                   self.url) from exc
        except _ERRORS as exc:
            self._log.warning(f"cannot subscribe to stream changes on Redis at {self.url} ({describe(exc)}); "
                              "starting without them, reconnecting, then clients are told to resync")
            feed = None
        self._task = asyncio.create_task(self._run(feed), name=f"redis-feed:{self.channel}")
        return feed is not None

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _subscribe(self) -> FeedProtocol:
        feed = await open_feed(self.client, self.channel, self._deliver, SUBSCRIBE_TIMEOUT_S)
        self.connected.set()
        return feed

    def _deliver(self, raw: str) -> None:
        self._safely(self.on_message, raw)

    async def _run(self, feed: FeedProtocol | None) -> None:
        while True:
            if feed is not None:
                try:
                    await self._pump(feed)
                except Exception as exc:  # any failure: reconnect rather than end the feed for good
                    self.connected.clear()
                    self._log.warning(f"lost the stream change feed from Redis at {self.url} ({describe(exc)}); "
                                      "reconnecting, then clients are told to resync")
                finally:
                    feed.close()
            feed = await self._reconnect()
            self.reconnections += 1
            self._log.warning(f"stream change feed from Redis at {self.url} is back; resyncing clients")
            self._safely(self.on_resync)

    async def _pump(self, feed: FeedProtocol) -> None:
        # Changes are handed on by the feed's protocol as they are read; this only watches the
        # link: a PING after PING_AFTER_IDLE_S of silence, given up on after DEAD_AFTER_S.
        pinged_at = float("-inf")
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(feed.lost), PING_AFTER_IDLE_S)
            except TimeoutError:
                pass
            else:
                return  # not reached: a lost feed raises
            now = time.monotonic()
            idle = now - feed.last_heard
            if idle > DEAD_AFTER_S:
                raise redis.ConnectionError(f"no answer to PING for {DEAD_AFTER_S:.0f}s")
            if idle >= PING_AFTER_IDLE_S and pinged_at < feed.last_heard:  # one PING per silence
                feed.ping()
                pinged_at = now

    async def _reconnect(self) -> FeedProtocol:
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


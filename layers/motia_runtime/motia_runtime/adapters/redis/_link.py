"""The stream store's scripts on a pipelined connection of their own, read by an ``asyncio.Protocol``.

Why not redis-py's command path: before a script's bytes leave, redis-py 8 spends ~0.2 ms on the
way there (measured in ``motia dev --workers 2``: its pool's lock and observability hooks, the
connection's health check, ``pack_command``, and the write inside ``asyncio.wait_for``, a task of
its own on Python 3.11, so one more loop turn). A ``set()`` on one worker reaches a subscriber on
another only after that, Redis, and the other worker's read (bench/optimisations.md, the Redis hop
rows). Here a call writes its command in the caller's own turn and awaits its reply; replies come
back in order on the one connection, so each waiting call is a future in a FIFO.

Only what the scripts need: EVALSHA (EVAL after a NOSCRIPT), replies decoded as redis-py's
``decode_responses=True`` would (bulk strings as ``str``), errors as redis-py's exceptions, so
``guarded`` turns them into ``RedisStreamError`` as before. No retry: a call whose command may
have reached Redis fails rather than run twice (``_connection.make_client``); a link found broken
before writing is replaced first.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import redis
import redis.asyncio
from redis.commands.core import AsyncScript

from ._feed import bulk, connect, take_replies


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def _error(err: redis.ResponseError) -> redis.ResponseError:
    text = str(err)
    return redis.exceptions.NoScriptError(text) if text.startswith("NOSCRIPT") else err


class LinkProtocol(asyncio.Protocol):
    """One connection; ``call`` writes a command at once and returns the future of its reply."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()  # the AUTH/SELECT answered
        self.transport: asyncio.Transport | None = None
        self.broken: BaseException | None = None
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._hello = 0  # replies to AUTH/SELECT still to come before the first call's
        self._buf = bytearray()
        # Set while the transport asks us to stop writing (a large backlog): callers wait on it.
        self.drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def start(self, hello: list[bytes]) -> None:
        self._hello = len(hello)  # AUTH and/or SELECT: their replies come before any call's
        assert self.transport is not None
        if hello:
            self.transport.write(b"".join(hello))
        else:
            self.ready.set_result(None)

    def call(self, packed: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self.broken is not None:
            future.set_exception(redis.ConnectionError(str(self.broken)))
            return future
        assert self.transport is not None
        self._waiting.append(future)
        self.transport.write(packed)
        return future

    def pause_writing(self) -> None:
        if self.drained is None:
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.drained is not None:
            if not self.drained.done():
                self.drained.set_result(None)
            self.drained = None

    def data_received(self, data: bytes) -> None:
        self._buf += data
        try:
            for value in take_replies(self._buf):
                self._answer(value)
        except Exception as exc:  # a reply we cannot read: nothing after it can be trusted
            self.fail(exc if isinstance(exc, redis.RedisError) else redis.ConnectionError(str(exc)))

    def _answer(self, value: Any) -> None:
        if self._hello:
            self._hello -= 1
            if isinstance(value, redis.ResponseError):
                raise value  # AUTH or SELECT refused: fail() hands it to whoever waits
            if not self._hello and not self.ready.done():
                self.ready.set_result(None)
            return
        if not self._waiting:
            raise redis.ConnectionError("Redis answered a command that was not sent")
        future = self._waiting.popleft()
        if future.done():  # its caller gave up (cancelled): the reply is only read past
            return
        if isinstance(value, redis.ResponseError):
            future.set_exception(_error(value))
        else:
            future.set_result(_decoded(value))

    def fail(self, exc: BaseException) -> None:
        if self.broken is None:
            self.broken = exc
        for future in (self.ready, *self._waiting):
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: the caller may have gone (a timeout, a cancel)
        self._waiting.clear()
        self.resume_writing()
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(redis.ConnectionError(f"Redis closed the connection{f': {exc}' if exc else ''}"))


def arguments(keys: list[str], args: list[str]) -> tuple[bytes, int]:
    """A script's ``numkeys keys... args...`` as :meth:`ScriptLink.run` takes them."""
    return bulk(str(len(keys)), *keys, *args), 1 + len(keys) + len(args)


class ScriptLink:
    """The stream store's scripts over one pipelined connection, opened on first use and again
    after it breaks. ``timeout_s`` bounds each call; a call that times out drops the connection,
    as redis-py does, so that later calls do not queue behind a dead link. (A call given up on
    keeps its place in the FIFO, done, so its late reply is read past, never handed to another.)"""

    def __init__(self, client: redis.asyncio.Redis, timeout_s: float, connect_timeout_s: float) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._link: LinkProtocol | None = None
        self._opening: asyncio.Future[LinkProtocol] | None = None

    async def _open(self) -> LinkProtocol:
        if self._opening is None:  # one connection attempt, however many calls wait for it
            self._opening = asyncio.ensure_future(self._connect())
            self._opening.add_done_callback(self._opened)
        return await asyncio.shield(self._opening)

    def _opened(self, opening: asyncio.Future[LinkProtocol]) -> None:
        if self._opening is opening:
            self._opening = None  # the next call after a failure tries again
        if not opening.cancelled():
            opening.exception()  # retrieved: its waiters may all have gone

    async def _connect(self) -> LinkProtocol:
        protocol = LinkProtocol()
        async with asyncio.timeout(self.connect_timeout_s):
            transport, hello = await connect(self.client, lambda: protocol)
            try:
                protocol.start(hello)
                await protocol.ready
            except BaseException:
                transport.abort()
                raise
        self._link = protocol
        return protocol

    async def run(self, script: AsyncScript, body: bytes, count: int) -> Any:
        """Run ``script`` with ``body``, its ``count`` arguments after the script (``numkeys``,
        the keys, the args) as bulk strings: see :func:`arguments`; a caller may keep the parts
        that do not change from one call to the next already encoded."""
        link = self._link
        if link is None or link.broken is not None:
            link = await self._open()
        packed = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n%s" % (count + 2, script.sha.encode(), body)
        future = link.call(packed)  # the bytes leave now; the timer is set up after
        try:
            async with asyncio.timeout(self.timeout_s):
                if link.drained is not None:
                    await asyncio.shield(link.drained)
                try:
                    return await future
                except redis.exceptions.NoScriptError:
                    # The server has not seen this script (a restart, SCRIPT FLUSH): once in full.
                    text = script.script.encode() if isinstance(script.script, str) else bytes(script.script)
                    future = link.call(b"*%d\r\n$4\r\nEVAL\r\n%s%s" % (count + 2, bulk(text), body))
                    return await future
        except TimeoutError:
            link.fail(redis.TimeoutError(f"no reply from Redis within {self.timeout_s:g}s"))
            raise redis.TimeoutError(f"Timeout reading from Redis (no reply within {self.timeout_s:g}s)") from None

    async def aclose(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        if self._link is not None:
            self._link.fail(redis.ConnectionError("the stream store was closed"))
            self._link = None

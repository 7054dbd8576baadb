"""The change feed's own connection: a subscription read by an ``asyncio.Protocol``.

Why not redis-py's ``PubSub.get_message``: each message then costs a wake of the listener's task,
a timeout scope, redis-py's reply parser and a message dict, and runs only after whatever else
the loop had ready at that moment (a step's continuation, its HTTP answer). Here each change is
handed on from ``data_received``, in the same callback that read it off the socket, so a change
reaches the hub (and the subscribers' sockets) one loop turn after Redis sent it, whatever else
is queued (bench/optimisations.md, the Redis hop rows).

redis-py still resolves the URL (host, port, unix socket, credentials, TLS settings); this
module speaks only the few RESP2 replies a subscription gets: ``+OK`` / ``-ERR`` to AUTH (and
SELECT, for a database in the URL), the ``subscribe`` confirmation, ``message`` pushes and the
``pong`` a subscribed PING gets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection

_INCOMPLETE = -1


def parse(buf: bytearray, pos: int) -> tuple[Any, int]:
    """One RESP2 value at ``pos``: (value, position after it), or (None, -1) when incomplete.
    Errors come back as ``redis.ResponseError`` values, bulk strings as bytes."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None, _INCOMPLETE
    kind, line = buf[pos], buf[pos + 1:end]
    if kind == 0x24:  # $ bulk string
        n = int(line)
        if n < 0:
            return None, end + 2
        if len(buf) < end + 4 + n:
            return None, _INCOMPLETE
        return bytes(buf[end + 2:end + 2 + n]), end + 4 + n
    if kind == 0x2A:  # * array
        items, at = [], end + 2
        for _ in range(max(int(line), 0)):
            item, at = parse(buf, at)
            if at == _INCOMPLETE:
                return None, _INCOMPLETE
            items.append(item)
        return items, at
    if kind == 0x3A:  # : integer
        return int(line), end + 2
    if kind == 0x2B:  # + simple string
        return line.decode(), end + 2
    if kind == 0x2D:  # - error
        return redis.ResponseError(line.decode(errors="replace")), end + 2
    raise redis.ConnectionError(f"unexpected reply from Redis on the change feed: {bytes(buf[pos:pos + 40])!r}")



def take_replies(buf: bytearray) -> list[Any]:
    """The complete replies at the start of ``buf``, removed from it; an incomplete one stays for the
    next read. Raises on bytes that are not RESP2 (the caller drops the connection)."""
    replies, pos = [], 0
    while pos < len(buf):
        value, end = parse(buf, pos)
        if end == _INCOMPLETE:
            break
        replies.append(value)
        pos = end
    del buf[:pos]
    return replies

def bulk(*parts: str | bytes) -> bytes:
    """``parts`` as RESP bulk strings, one after the other (a command's arguments, no header)."""
    out = []
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def command(*parts: str) -> bytes:
    return b"*%d\r\n%s" % (len(parts), bulk(*parts))


class FeedProtocol(asyncio.Protocol):
    """Subscribed to one channel; calls ``on_message(payload)`` for each message as it is read.

    ``subscribed`` resolves once Redis confirmed the subscription (or fails with the reason);
    ``lost`` once the connection is gone or spoke out of turn. ``last_heard`` is when anything
    last arrived (``time.monotonic``), for the idle PING."""

    def __init__(self, channel: str, on_message: Callable[[str], None]) -> None:
        self.channel = channel.encode()
        self.on_message = on_message
        loop = asyncio.get_running_loop()
        self.subscribed: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.last_heard = time.monotonic()
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        self._buf += data
        try:
            for value in take_replies(self._buf):
                self._handle(value)
        except Exception as exc:  # a reply we do not expect: drop the link, the listener reconnects
            self._fail(exc if isinstance(exc, redis.RedisError) else redis.ConnectionError(str(exc)))

    def _handle(self, value: Any) -> None:
        if isinstance(value, list) and value:
            kind = value[0]
            if kind == b"message":
                self.on_message(value[2].decode())  # the listener guards it (ChangeListener._safely)
            elif kind == b"subscribe":
                if not self.subscribed.done():
                    self.subscribed.set_result(None)
            # b"pong": last_heard is all it is for
        elif isinstance(value, redis.ResponseError):
            raise value  # AUTH refused, or the server refused the subscription
        # "+OK" (AUTH) needs nothing

    def _fail(self, exc: BaseException) -> None:
        for future in (self.subscribed, self.lost):
            if not future.done():
                future.set_exception(exc)
        self.lost.exception()  # marked as retrieved: the listener may be between reads of it
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or redis.ConnectionError("the Redis server closed the change feed's connection"))

    def ping(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(command("PING"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def connect(client: redis.asyncio.Redis, protocol_factory: Callable[[], asyncio.Protocol]) -> tuple[
        asyncio.Transport, list[bytes]]:
    """Connect as ``client``'s pool would (address, TLS) and return the transport with the
    commands to send first: AUTH with its credentials, SELECT its database (none if not needed)."""
    pool = client.connection_pool
    conn = pool.connection_class(**pool.connection_kwargs)  # only read for its settings: never connected
    loop = asyncio.get_running_loop()
    if isinstance(conn, UnixDomainSocketConnection):
        transport, _ = await loop.create_unix_connection(protocol_factory, conn.path)
    elif isinstance(conn, Connection):  # TCP, and SSLConnection (its subclass) with redis-py's TLS context
        ssl_context = conn.ssl_context.get() if isinstance(conn, SSLConnection) else None
        transport, _ = await loop.create_connection(protocol_factory, conn.host, conn.port, ssl=ssl_context)
    else:
        raise redis.ConnectionError(f"cannot connect to Redis through {type(conn).__name__}")
    try:
        hello = []
        if conn.credential_provider is not None:
            credentials = await conn.credential_provider.get_credentials_async()
            hello.append(command("AUTH", *credentials))
        elif conn.password is not None:
            hello.append(command("AUTH", *([conn.username] if conn.username else []), conn.password))
        if conn.db:
            hello.append(command("SELECT", str(conn.db)))
    except BaseException:
        transport.abort()
        raise
    return transport, hello


async def open_feed(client: redis.asyncio.Redis, channel: str, on_message: Callable[[str], None],
                    timeout_s: float) -> FeedProtocol:
    """Connect as ``client``'s pool would (address, credentials, TLS), authenticate, subscribe, and
    return once Redis confirmed: every PUBLISH to ``channel`` after that reaches ``on_message``."""
    protocol = FeedProtocol(channel, on_message)
    async with asyncio.timeout(timeout_s):
        transport, hello = await connect(client, lambda: protocol)
        try:
            transport.write(b"".join(hello) + command("SUBSCRIBE", channel))
            await protocol.subscribed
        except BaseException:
            protocol.close()
            raise
    return protocol

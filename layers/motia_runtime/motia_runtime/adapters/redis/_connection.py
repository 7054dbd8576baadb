"""The Redis edge: clients, key names, and the translation of redis-py errors into MotiaError.

Every command goes through :func:`guarded`, so a step only ever sees ``RedisStreamError`` or
``RedisStateError`` (a ``StreamError``/``StateError`` too) naming the server, never a redis-py type.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ...errors import MotiaError, StateError, StreamError
from . import _scripts

T = TypeVar("T")
CONNECT_TIMEOUT_S = 3.0
# A stalled server must fail the step, not hang it (the bus then retries the event).
COMMAND_TIMEOUT_S = 10.0


class RedisStoreError(MotiaError):
    """Redis could not be reached, or refused a command. ``url`` has any password masked."""

    def __init__(self, message: str, url: str) -> None:
        self.url = url
        super().__init__(message)


class RedisStreamError(RedisStoreError, StreamError):
    """A stream operation failed in Redis."""


class RedisStateError(RedisStoreError, StateError):
    """A state operation failed in Redis."""


# redis-py also reads a password from the query string (``?password=``, and a TLS key's
# ``?ssl_password=``), so it is masked there too.
_QUERY_PASSWORD = re.compile(r"(^|&)((?:ssl_)?password=)[^&]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")  # hostport as written: an IPv6 host keeps its []
        netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
    query = _QUERY_PASSWORD.sub(r"\1\2***", parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    # Not urlunsplit: it writes ``unix:///path`` (an empty host) as ``unix:/path``.
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def make_client(url: str) -> redis.asyncio.Redis:
    """An asyncio client that does not retry commands itself.

    A retried script whose reply was lost would run twice (two versions, two notifications); a
    failure goes to the step instead, whose event the bus retries. Broken pooled connections
    are still replaced before use, so the first command after Redis comes back works.
    """
    try:
        check_database(url)
        return redis.asyncio.Redis.from_url(
            url, decode_responses=True, retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=COMMAND_TIMEOUT_S,
        )
    except ValueError as exc:  # redis-py's answer to a malformed URL
        raise RedisStoreError(f"invalid Redis URL {redact(url)!r}: {exc}", redact(url)) from exc


def check_database(url: str) -> None:
    """Raise ValueError unless the URL's path is empty or a database number. redis-py ignores any
    other path, so a typo (``/app1``) would silently share database 0 with whatever else uses it."""
    parts = urlsplit(url)
    db = unquote(parts.path).replace("/", "")  # as redis-py reads it
    if parts.scheme in ("redis", "rediss") and db and not db.isdigit():
        raise ValueError(f"the path {parts.path!r} is not a database number (redis://host:6379/1)")


def database(client: redis.asyncio.Redis) -> int:
    """The database number ``client`` selects (0 unless the URL names another)."""
    return int(client.connection_pool.connection_kwargs.get("db") or 0)


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def guarded(call: Awaitable[T], error: type[RedisStoreError], what: str, url: str) -> T:
    """Await a redis-py call (or a script on the stream store's link, which raises redis-py's
    errors too); its errors become ``error`` naming ``what`` and the server."""
    try:
        return await call
    except (redis.RedisError, OSError) as exc:
        where = redact(url)
        raise error(f"{what}: Redis at {where} failed: {describe(exc)}", where) from exc


def check_reachable(url: str, prefix: str = "motia") -> None:
    """Log in and run one of the stores' read scripts, synchronously (``motia dev`` does it before
    starting workers): a wrong password, or an ACL user without the scripts, stops it there with
    the reason, rather than failing every write of a server that looked up."""
    where = redact(url)
    try:
        check_database(url)
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S,
                                      retry=None)
    except ValueError as exc:
        raise RedisStoreError(f"invalid Redis URL {where!r}: {exc}", where) from exc
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        given = client.connection_pool.connection_kwargs.get("password") is not None
        hint = "" if given else " (it asks for a password: put it in the URL, redis://:PASSWORD@host:port/db)"
        raise RedisStoreError(f"Redis at {where} refused the login{hint}: {describe(exc)}", where) from exc
    except (redis.RedisError, OSError) as exc:
        raise RedisStoreError(f"cannot reach Redis at {where}: {describe(exc)}", where) from exc
    try:
        # A read of a group that does not exist: EVALSHA (SCRIPT LOAD first, the way the stores
        # run it) with the script's reads; it writes nothing.
        keys = Keys(prefix)
        client.register_script(_scripts.READ)(keys=[keys.stream_group("-", "-"), keys.clock,
                                                    keys.stream_expiry("-", "-")], args=["0"])
    except (redis.RedisError, OSError) as exc:
        raise RedisStoreError(f"Redis at {where} refused the stores' scripts: {describe(exc)}", where) from exc
    finally:
        client.close()


def part(value: str) -> str:
    """A name as one key segment: ``%`` and ``:`` escaped, so segments never run into each other."""
    return value.replace("%", "%25").replace(":", "%3A")


class Keys:
    """Every key and channel name the Redis adapters use, under one prefix.

    ``<p>:stream:<stream>:group:<group>``  hash: item id -> "<createdAt> <version> <ts>\\n<data JSON>"
    ``<p>:stream:<stream>:groups``         set of the stream's non-empty groups
    ``<p>:clock``                          the last stamp given to any change (stamps are global)
    ``<p>:changes`` / ``<p>:changes:<db>``  pub/sub channel: one JSON message per change (see below)
    ``<p>:state:group:<group>``            hash: key -> "<seq>\\n<value JSON>" (seq: first-insertion order)
    ``<p>:state:index:<group>``            sorted set of the group's keys (score 0: ordered by key)
    ``<p>:state:groups`` / ``<p>:state:seq``  the non-empty state groups / the insertion counter
    ``<p>:cron:<step>:<due ms>``           a cron slot taken by one worker (expires)
    ``<p>:stream:<stream>:expiry:<group>`` hash: item id -> when it expires (epoch ms), items with a TTL
    ``<p>:stream-expiring``                sorted set of ``[stream, group, id]`` (JSON) by expiry: the sweep's list
    ``<p>:stream:<stream>:history:<group>`` sorted set of the group's sent events (change messages) by stamp
    ``<p>:stream:<stream>:history-mark:<group>`` the newest stamp the count bound dropped from it
    ``<p>:stream-history-from``            the stamp this Redis started keeping history at

    Keys live in the URL's database, but pub/sub channels do not: a PUBLISH reaches subscribers on
    every database of the server. So the channel carries the database number, and two apps given
    their own database (``/1``, ``/2``) never receive each other's changes. Database 0 keeps the
    plain name, which workers of earlier versions sharing it still use.
    """

    def __init__(self, prefix: str = "motia", db: int = 0) -> None:
        if not prefix:
            raise ValueError("the Redis key prefix must not be empty")
        self.prefix = prefix
        self.clock = f"{prefix}:clock"
        self.changes = f"{prefix}:changes" if db == 0 else f"{prefix}:changes:{db}"
        self.state_groups = f"{prefix}:state:groups"
        self.state_seq = f"{prefix}:state:seq"

    def stream_group(self, stream: str, group_id: str) -> str:
        return f"{self.prefix}:stream:{part(stream)}:group:{part(group_id)}"

    def stream_groups(self, stream: str) -> str:
        return f"{self.prefix}:stream:{part(stream)}:groups"

    def stream_expiry(self, stream: str, group_id: str) -> str:
        return f"{self.prefix}:stream:{part(stream)}:expiry:{part(group_id)}"

    def stream_history(self, stream: str, group_id: str) -> str:
        return f"{self.prefix}:stream:{part(stream)}:history:{part(group_id)}"

    def stream_history_mark(self, stream: str, group_id: str) -> str:
        return f"{self.prefix}:stream:{part(stream)}:history-mark:{part(group_id)}"

    @property
    def stream_expiring(self) -> str:
        return f"{self.prefix}:stream-expiring"

    @property
    def history_from(self) -> str:
        return f"{self.prefix}:stream-history-from"

    def state_group(self, group: str) -> str:
        return f"{self.prefix}:state:group:{part(group)}"

    def state_index(self, group: str) -> str:
        return f"{self.prefix}:state:index:{part(group)}"

    def cron(self, step: str, due_ms: int) -> str:
        return f"{self.prefix}:cron:{part(step)}:{due_ms}"

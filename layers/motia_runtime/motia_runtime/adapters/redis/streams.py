"""StreamStore on Redis: a hash per group, one Lua script per write, changes over pub/sub.

Sent events are also kept, per group, in a sorted set trimmed to the stream's history window
and count (the SEND script), for ``since`` after a restart and ``history()``. Items set with a
TTL have their expiry in a per-group hash (reads leave expired ones out) and in one sorted set
that every worker sweeps; the EXPIRE script's ZREM is the claim, so one worker removes each item,
publishes its single delete and hands it to its expiry listeners (the stream's triggers, once).

Several ``motia dev`` workers (or machines) sharing one Redis share every item, and each one's
listeners get every change whichever worker made it: a write never notifies in-process; the
change comes back through the pub/sub feed to every worker, the writer included, so a host
hears each change exactly once and in the order Redis applied them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import redis.asyncio

from ...clock import MonotonicClock
from ...errors import StreamError
from ...jsonsafe import loads_stored
from ...ports.streams import Mutation, StreamChange, StreamStore, now_ms, stored_item
from ...tasks import stop_task
from . import _scripts
from ._connection import COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S, Keys, RedisStreamError, database, guarded, make_client
from ._feed import bulk
from ._link import ScriptLink, arguments
from .listener import ChangeListener

MAX_MUTATE_ATTEMPTS = 50
ITEM_PARTS_KEPT = 4096  # items whose write arguments are kept encoded (_item_parts)
SWEEP_EVERY_S = 0.5  # an expired item's delete reaches clients within about this long
SWEEP_BATCH = 200  # expired items one sweep round takes at most


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parse(id: str, raw: str) -> tuple[dict[str, Any], str]:
    """(stored item, its last stamp) from ``"<createdAt> <version> <ts>\\n<data>"``."""
    header, _, data = raw.partition("\n")
    created_at, _version, ts = header.split(" ")
    return stored_item(loads_stored(data), id, int(created_at)), ts


class RedisStreamStore(StreamStore):
    """Pass ``client`` to share a connection pool (it is then not closed here)."""

    def __init__(self, url: str, *, prefix: str = "motia", client: redis.asyncio.Redis | None = None,
                 clock: MonotonicClock | None = None) -> None:
        super().__init__(clock)
        self.url = url
        self._owns_client = client is None
        self.client = client if client is not None else make_client(url)
        self.keys = Keys(prefix, database(self.client))
        self._write_script = self.client.register_script(_scripts.WRITE)
        self._delete_script = self.client.register_script(_scripts.DELETE)
        self._send_script = self.client.register_script(_scripts.SEND)
        self._read_script = self.client.register_script(_scripts.READ)
        self._expire_script = self.client.register_script(_scripts.EXPIRE)
        # The scripts go over a connection of their own (_link.py: no ~0.2 ms of redis-py before
        # each write's bytes leave); other commands through redis-py's pool.
        self.scripts = ScriptLink(self.client, COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S)
        self._items: dict[tuple[str, str, str], tuple[bytes, bytes, bytes]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.history_from = 0
        self.listener = ChangeListener(self.client, url, self.keys.changes, self._on_message, self._notify_resync)

    async def _run(self, call: Any, what: str) -> Any:
        return await guarded(call, RedisStreamError, f"stream {what}", self.url)

    async def _script(self, script: Any, keys: list[str], args: list[str], what: str) -> Any:
        body, count = arguments(keys, args)
        return await guarded(self.scripts.run(script, body, count), RedisStreamError, f"stream {what}", self.url)

    def _floor(self) -> str:
        return str(self.clock.last)

    def _head(self, stream: str, group_id: str, id: str | None, **extra: str) -> str:
        # The change message without its closing brace; the script appends the rest.
        return _dump({"s": stream, "g": group_id, "i": id, **extra})[:-1]

    # -- the change feed --------------------------------------------------------------------
    async def astart(self) -> None:
        if await self.listener.start():
            # The first worker to start on this Redis sets when its history starts; it stays.
            # (Started while Redis is away: ``history`` sets it once Redis is back.)
            key = self.keys.history_from
            await self._run(self.client.set(key, str(self.clock.tick()), nx=True), "history start")
            self.history_from = int(await self._run(self.client.get(key), "history start"))
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="motia-stream-ttl")

    async def aclose(self) -> None:
        await stop_task(self._sweeper)
        self._sweeper = None
        await self.listener.stop()
        await self.scripts.aclose()
        if self._owns_client:
            await self.client.aclose()

    def _on_message(self, raw: str) -> None:
        m = json.loads(raw)
        ts = int(m["ts"])
        self.clock.advance_to(ts)
        if m["t"] == "event":
            change = StreamChange(m["s"], m["g"], m["i"], "event", m["d"], ts, event_id=m["e"])
        else:
            change = StreamChange(m["s"], m["g"], m["i"], m["t"], stored_item(m["d"], m["i"], int(m["c"])), ts,
                                  int(m["v"]))
        self._notify(change)

    # -- reads ------------------------------------------------------------------------------
    async def _get_raw(self, stream: str, group_id: str, id: str) -> str | None:
        keys = [self.keys.stream_group(stream, group_id), self.keys.clock, self.keys.stream_expiry(stream, group_id)]
        raw = await self._script(self._read_script, keys, [self._floor(), id], f"{stream}/{group_id}/{id}")
        return raw if isinstance(raw, str) else None

    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        raw = await self._get_raw(stream, group_id, id)
        return None if raw is None else _parse(id, raw)[0]

    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        keys = [self.keys.stream_group(stream, group_id), self.keys.clock, self.keys.stream_expiry(stream, group_id)]
        flat = await self._script(self._read_script, keys, [self._floor()], f"{stream}/{group_id}")
        items = [_parse(flat[i], flat[i + 1])[0] for i in range(0, len(flat), 2)]
        return sorted(items, key=lambda item: (item["_createdAt"], item["id"]))

    async def list_groups(self, stream: str) -> list[str]:
        await self.expire_due()  # a group whose items all expired leaves the set when they are removed
        return sorted(await self._run(self.client.smembers(self.keys.stream_groups(stream)), f"{stream} groups"))

    # -- writes -----------------------------------------------------------------------------
    def _item_parts(self, stream: str, group_id: str, id: str) -> tuple[bytes, bytes, bytes]:
        """The WRITE script's arguments that only depend on the item, encoded: ``numkeys``, the
        keys, id and group; the channel and message head; the expiring set's member. Kept for
        the items last written (repeated writes to one item are the common case), so a write
        encodes only its data, expectation, floor and expiry before its bytes leave."""
        parts = self._items.get((stream, group_id, id))
        if parts is None:
            if len(self._items) >= ITEM_PARTS_KEPT:
                self._items.clear()
            keys = [self.keys.stream_group(stream, group_id), self.keys.stream_groups(stream), self.keys.clock,
                    self.keys.stream_expiry(stream, group_id), self.keys.stream_expiring]
            parts = self._items[(stream, group_id, id)] = (
                bulk(str(len(keys)), *keys, id, group_id), bulk(self.keys.changes, self._head(stream, group_id, id)),
                bulk(_dump([stream, group_id, id])))
        return parts

    async def _write(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                     expected: str, expires_at: int | None = None, encoded: bytes | None = None) -> StreamChange | None:
        text = _dump(data).encode() if encoded is None else encoded
        item, head, member = self._item_parts(stream, group_id, id)
        # KEYS[1-5], then ARGV: id, group id, data, expected, floor, channel, head, expiry, member.
        body = b"".join((item, bulk(text, expected, self._floor()), head,
                         bulk("" if expires_at is None else str(expires_at)), member))
        out = await guarded(self.scripts.run(self._write_script, body, 1 + 5 + 9), RedisStreamError,
                            f"stream {stream}/{group_id}/{id}", self.url)
        if int(out[0]) == 0:
            return None  # the item changed since the caller read it
        kind, created_at, version, ts = out[1], int(out[2]), int(out[3]), int(out[4])
        self.clock.advance_to(ts)
        return StreamChange(stream, group_id, id, kind, stored_item(loads_stored(text), id, created_at), ts, version)

    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        change = await self._write(stream, group_id, id, data, expected="")
        assert change is not None  # an unconditional write always lands
        return change

    async def set_json(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                       encoded: bytes) -> StreamChange:
        change = await self._write(stream, group_id, id, data, expected="", encoded=encoded)
        assert change is not None  # an unconditional write always lands
        return change

    async def set_expiring(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                           expires_at: int) -> StreamChange:
        change = await self._write(stream, group_id, id, data, expected="", expires_at=expires_at)
        assert change is not None
        return change

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        # The item's TTL stays: ``update`` changes the data, not how long it lives.
        return await self._mutate(stream, group_id, id, fn, keep_expiry=True)

    async def mutate_expiring(self, stream: str, group_id: str, id: str, fn: Mutation,
                              expires_at: int | None) -> StreamChange:
        return await self._mutate(stream, group_id, id, fn, keep_expiry=False, expires_at=expires_at)

    async def _mutate(self, stream: str, group_id: str, id: str, fn: Mutation, *, keep_expiry: bool,
                      expires_at: int | None = None) -> StreamChange:
        # Optimistic: read, apply fn, write (with the expiry) only if the item's stamp is still the
        # one read. Stamps are unique across the server, so this also catches a delete and re-create.
        for _ in range(MAX_MUTATE_ATTEMPTS):
            raw = await self._get_raw(stream, group_id, id)
            current, expected = (None, "0") if raw is None else _parse(id, raw)
            if keep_expiry:
                expires_at = None
                if raw is not None:
                    held = await self._run(self.client.hget(self.keys.stream_expiry(stream, group_id), id), "ttl")
                    expires_at = int(held) if held is not None else None
            change = await self._write(stream, group_id, id, fn(current), expected=expected, expires_at=expires_at)
            if change is not None:
                return change
        raise StreamError(f"stream {stream}/{group_id}/{id}: update lost {MAX_MUTATE_ATTEMPTS} races "
                          "with concurrent writers; giving up")

    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        keys = [self.keys.stream_group(stream, group_id), self.keys.stream_groups(stream), self.keys.clock,
                self.keys.stream_expiry(stream, group_id)]
        args = [id, group_id, self._floor(), self.keys.changes, self._head(stream, group_id, id)]
        out = await self._script(self._delete_script, keys, args, f"{stream}/{group_id}/{id}")
        if int(out[0]) == 0:
            return None
        created_at, version, ts, data = int(out[1]), int(out[2]), int(out[3]), out[4]
        self.clock.advance_to(ts)
        item = stored_item(loads_stored(data), id, created_at)
        return StreamChange(stream, group_id, id, "delete", item, ts, version)

    async def send(self, stream: str, group_id: str, id: str | None, event: dict[str, Any]) -> StreamChange:
        event_id = uuid.uuid4().hex  # lets clients drop an event delivered twice
        policy = self.history_policy(stream)
        keys = [self.keys.clock, self.keys.stream_history(stream, group_id),
                self.keys.stream_history_mark(stream, group_id)]
        args = [self._floor(), self.keys.changes, self._head(stream, group_id, id, e=event_id), _dump(event),
                str(policy.window_s * 1000), str(policy.max_events)]
        ts = int(await self._script(self._send_script, keys, args, f"{stream}/{group_id} send"))
        self.clock.advance_to(ts)
        return StreamChange(stream, group_id, id, "event", event, ts, event_id=event_id)

    async def history(self, stream: str, group_id: str, since: int | None) -> list[StreamChange] | None:
        policy = self.history_policy(stream)
        if policy.window_s == 0:
            return None
        floor = now_ms() - policy.window_s * 1000
        low = floor if since is None else max(since + 1, floor)
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.keys.stream_history_mark(stream, group_id))
        pipe.zrangebyscore(self.keys.stream_history(stream, group_id), low, "+inf")
        pipe.get(self.keys.history_from)
        mark, entries, kept_from = await self._run(pipe.execute(), f"{stream}/{group_id} history")
        if kept_from is None:
            # Redis lost its data (restarted without persistence, flushed): what was kept is gone,
            # so history starts again from now, and a ``since`` before that gets a resync, not [].
            key = self.keys.history_from
            await self._run(self.client.set(key, str(self.clock.tick()), nx=True), "history start")
            kept_from = await self._run(self.client.get(key), "history start")
        self.history_from = int(kept_from)
        if since is not None and since < max(self.history_from, floor, int(mark or 0)):
            return None
        out = []
        for raw in entries:
            m = json.loads(raw)
            out.append(StreamChange(stream, group_id, m["i"], "event", m["d"], int(m["ts"]), event_id=m["e"]))
        return out

    # -- expiry -------------------------------------------------------------------------------
    async def expire_due(self) -> int:
        due = await self._run(self.client.zrangebyscore(self.keys.stream_expiring, "-inf", now_ms(), 0, SWEEP_BATCH),
                              "expiry sweep")
        expired = 0
        for member in due:
            stream, group_id, id = json.loads(member)
            keys = [self.keys.stream_group(stream, group_id), self.keys.stream_groups(stream), self.keys.clock,
                    self.keys.stream_expiry(stream, group_id), self.keys.stream_expiring]
            args = [member, id, group_id, self._floor(), self.keys.changes, self._head(stream, group_id, id)]
            out = await self._script(self._expire_script, keys, args, f"{stream}/{group_id}/{id} expiry")
            if int(out[0]) == 0:
                continue
            expired += 1
            # The delete reaches every worker's listeners through the feed; its triggers run here,
            # on the one worker whose ZREM claimed the item.
            item = stored_item(loads_stored(out[4]), id, int(out[3]))
            await self._notify_expired(StreamChange(stream, group_id, id, "delete", item, int(out[1]), int(out[2])))
        return expired

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            with contextlib.suppress(RedisStreamError):  # Redis away this round: the next one tries again
                await self.expire_due()

"""StateStore on Redis: a hash per group, shared by every worker using the same server and prefix."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio

from ...errors import StateError
from ...jsonsafe import loads_stored
from ...ports.state import StateMutation, StatePage, StateStore, check_page_args, page_of
from . import _scripts
from ._connection import Keys, RedisStateError, guarded, make_client

MAX_MUTATE_ATTEMPTS = 32


def _value(raw: str) -> tuple[int, Any]:
    """(insertion number, value) from ``"<seq>\\n<value JSON>"``."""
    seq, _, text = raw.partition("\n")
    return int(seq), loads_stored(text)


class RedisStateStore(StateStore):
    """Pass ``client`` to share a connection pool (it is then not closed here)."""

    def __init__(self, url: str, *, prefix: str = "motia", client: redis.asyncio.Redis | None = None) -> None:
        self.url = url
        self.keys = Keys(prefix)
        self._owns_client = client is None
        self.client = client if client is not None else make_client(url)
        self._set_script = self.client.register_script(_scripts.STATE_SET)
        self._delete_script = self.client.register_script(_scripts.STATE_DELETE)
        self._clear_script = self.client.register_script(_scripts.STATE_CLEAR)
        self._page_script = self.client.register_script(_scripts.STATE_PAGE)

    async def _run(self, call: Any, what: str) -> Any:
        return await guarded(call, RedisStateError, f"state {what}", self.url)

    async def get(self, group: str, key: str) -> Any | None:
        raw = await self._run(self.client.hget(self.keys.state_group(group), key), f"{group}/{key}")
        return None if raw is None else _value(raw)[1]

    async def set(self, group: str, key: str, value: Any) -> Any:
        keys = [self.keys.state_group(group), self.keys.state_groups, self.keys.state_seq,
                self.keys.state_index(group)]
        await self._run(self._set_script(keys=keys, args=[key, json.dumps(value), group]), f"{group}/{key}")
        return value

    async def mutate(self, group: str, key: str, fn: StateMutation) -> tuple[Any | None, Any]:
        _, old, new = await self.mutate_entry(group, key, fn)
        return old, new

    async def mutate_entry(self, group: str, key: str, fn: StateMutation) -> tuple[bool, Any | None, Any]:
        # Optimistic: read, apply fn, write only if the raw value is still the one read.
        keys = [self.keys.state_group(group), self.keys.state_groups, self.keys.state_seq,
                self.keys.state_index(group)]
        for _ in range(MAX_MUTATE_ATTEMPTS):
            raw = await self._run(self.client.hget(self.keys.state_group(group), key), f"{group}/{key}")
            old = None if raw is None else _value(raw)[1]
            new = fn(None if raw is None else _value(raw)[1])
            args = [key, json.dumps(new), group, raw or ""]
            if int(await self._run(self._set_script(keys=keys, args=args), f"{group}/{key}")):
                return raw is not None, old, new
        raise StateError(f"state {group}/{key}: update lost {MAX_MUTATE_ATTEMPTS} races with concurrent writers; "
                         "giving up")

    async def delete(self, group: str, key: str) -> Any | None:
        return (await self.delete_entry(group, key))[1]

    async def delete_entry(self, group: str, key: str) -> tuple[bool, Any | None]:
        keys = [self.keys.state_group(group), self.keys.state_groups, self.keys.state_index(group)]
        raw = await self._run(self._delete_script(keys=keys, args=[key, group]), f"{group}/{key}")
        return (True, _value(raw)[1]) if isinstance(raw, str) else (False, None)

    async def items(self, group: str) -> list[tuple[str, Any]]:
        raw = await self._run(self.client.hgetall(self.keys.state_group(group)), group)
        entries = [(*_value(text), key) for key, text in raw.items()]
        return [(key, value) for _, value, key in sorted(entries, key=lambda entry: entry[0])]

    async def get_group(self, group: str) -> list[Any]:
        return [value for _, value in await self.items(group)]

    async def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage:
        # The group's key index (a sorted set) is walked by key, in the script, with the values
        # read alongside: one round trip that reads only the page.
        check_page_args(limit)
        start = f"({after}" if after is not None else ("+" if descending else "-")
        keys = [self.keys.state_group(group), self.keys.state_index(group)]
        flat = await self._run(self._page_script(keys=keys, args=[start, limit + 1, "desc" if descending else "asc"]),
                               f"{group} page")
        return page_of([(flat[i], _value(flat[i + 1])[1]) for i in range(0, len(flat), 2)], limit)

    async def clear(self, group: str) -> None:
        keys = [self.keys.state_group(group), self.keys.state_groups, self.keys.state_index(group)]
        await self._run(self._clear_script(keys=keys, args=[group]), group)

    async def list_groups(self) -> list[str]:
        return sorted(await self._run(self.client.smembers(self.keys.state_groups), "groups"))

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

from __future__ import annotations

import copy
from typing import Any

from ...ports.state import StateMutation, StatePage, StateStore, check_page_args, page_of


class MemoryStateStore(StateStore):
    def __init__(self) -> None:
        self._groups: dict[str, dict[str, Any]] = {}

    async def get(self, group: str, key: str) -> Any | None:
        return copy.deepcopy(self._groups.get(group, {}).get(key))

    async def set(self, group: str, key: str, value: Any) -> Any:
        self._groups.setdefault(group, {})[key] = copy.deepcopy(value)
        return value

    async def mutate(self, group: str, key: str, fn: StateMutation) -> tuple[Any | None, Any]:
        _, old, new = await self.mutate_entry(group, key, fn)
        return old, new

    async def mutate_entry(self, group: str, key: str, fn: StateMutation) -> tuple[bool, Any | None, Any]:
        values = self._groups.get(group, {})
        existed = key in values
        old = copy.deepcopy(values.get(key))
        new = fn(copy.deepcopy(old))  # no await between the read and the write: atomic on the loop
        self._groups.setdefault(group, {})[key] = copy.deepcopy(new)
        return existed, old, new

    async def delete(self, group: str, key: str) -> Any | None:
        return (await self.delete_entry(group, key))[1]

    async def delete_entry(self, group: str, key: str) -> tuple[bool, Any | None]:
        values = self._groups.get(group)
        if values is None or key not in values:
            return False, None
        old = values.pop(key)
        if not values:
            del self._groups[group]
        return True, old

    async def get_group(self, group: str) -> list[Any]:
        return [copy.deepcopy(v) for v in self._groups.get(group, {}).values()]

    async def items(self, group: str) -> list[tuple[str, Any]]:
        return [(k, copy.deepcopy(v)) for k, v in self._groups.get(group, {}).items()]

    async def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage:
        check_page_args(limit)
        values = self._groups.get(group, {})
        keys = sorted((k for k in values if after is None or (k < after if descending else k > after)),
                      reverse=descending)[:limit + 1]
        return page_of([(k, copy.deepcopy(values[k])) for k in keys], limit)

    async def clear(self, group: str) -> None:
        self._groups.pop(group, None)

    async def list_groups(self) -> list[str]:
        return sorted(self._groups)

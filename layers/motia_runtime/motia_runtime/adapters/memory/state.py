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
        old = copy.deepcopy(self._groups.get(group, {}).get(key))
        new = fn(copy.deepcopy(old))  # no await between the read and the write: atomic on the loop
        self._groups.setdefault(group, {})[key] = copy.deepcopy(new)
        return old, new

    async def delete(self, group: str, key: str) -> Any | None:
        values = self._groups.get(group)
        if values is None:
            return None
        old = values.pop(key, None)
        if not values:
            del self._groups[group]
        return old

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

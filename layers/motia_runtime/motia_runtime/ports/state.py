"""StateStore: grouped key/value state behind ``ctx.state``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import StateError

#: ``fn(current)`` returns the new value; ``current`` is None when the key is missing.
StateMutation = Callable[[Any | None], Any]


@dataclass(frozen=True, slots=True)
class StatePage:
    """One page of a group read in key order: ``(key, value)`` pairs, and the key to pass as
    ``after`` for the next page (None when this page holds the group's last key)."""

    items: list[tuple[str, Any]]
    next_after: str | None


def page_of(ordered: list[tuple[str, Any]], limit: int) -> StatePage:
    """``ordered`` holds up to ``limit + 1`` pairs: the extra one only says another page exists."""
    items = ordered[:limit]
    return StatePage(items, items[-1][0] if len(ordered) > limit and items else None)


class StateStore(ABC):
    """Values are JSON-compatible; ``group`` is usually a trace id or an entity kind."""

    @abstractmethod
    async def get(self, group: str, key: str) -> Any | None: ...

    @abstractmethod
    async def set(self, group: str, key: str, value: Any) -> Any: ...

    @abstractmethod
    async def delete(self, group: str, key: str) -> Any | None:
        """Remove the key; return the value it held, or None."""

    @abstractmethod
    async def get_group(self, group: str) -> list[Any]:
        """Every value in the group, oldest key first."""

    @abstractmethod
    async def clear(self, group: str) -> None: ...

    @abstractmethod
    async def list_groups(self) -> list[str]: ...

    async def mutate(self, group: str, key: str, fn: StateMutation) -> tuple[Any | None, Any]:
        """Atomically replace the value with ``fn(current)``; returns ``(old, new)``.

        ``fn`` may raise to write nothing, and may be called more than once when the store
        retries after a concurrent write, so it must not have side effects. ``ctx.state.update``
        and state triggers (which need the old value) are built on it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement mutate()")

    async def mutate_entry(self, group: str, key: str, fn: StateMutation) -> tuple[bool, Any | None, Any]:
        """``mutate``, also telling whether the key existed: ``(existed, old, new)``.

        A key may hold null, which ``mutate``'s ``old`` cannot tell from a missing key; state
        triggers must (a write over a null is ``state:updated``, as on AWS, where the table's
        change record says so). Stores that can tell override this default, which cannot."""
        old, new = await self.mutate(group, key, fn)
        return old is not None, old, new

    async def delete_entry(self, group: str, key: str) -> tuple[bool, Any | None]:
        """``delete``, also telling whether the key existed: ``(existed, old)`` (a key that held
        null is deleted too, and its state triggers run). See ``mutate_entry``."""
        old = await self.delete(group, key)
        return old is not None, old

    async def items(self, group: str) -> list[tuple[str, Any]]:
        """(key, value) pairs of a group; stores override this when they can do better."""
        raise NotImplementedError

    async def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage:
        """Up to ``limit`` (key, value) pairs of the group in key order (code point order, which is
        UTF-8 byte order: the same on SQLite, Redis and DynamoDB), starting after the key ``after``
        (exclusive; it need not exist any more); ``descending`` reverses the order.

        Every store of this package reads only the page from storage. This default, for stores
        written before the method existed, reads the whole group and slices it.
        """
        check_page_args(limit)
        pairs = sorted(await self.items(group), key=lambda pair: pair[0], reverse=descending)
        if after is not None:
            pairs = [p for p in pairs if (p[0] < after if descending else p[0] > after)]
        return page_of(pairs[:limit + 1], limit)

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""


def check_page_args(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise StateError(f"state page: limit must be a whole number of at least 1, not {limit!r}")

"""StateStore: grouped key/value state behind ``ctx.state``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

#: ``fn(current)`` returns the new value; ``current`` is None when the key is missing.
StateMutation = Callable[[Any | None], Any]


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

    async def items(self, group: str) -> list[tuple[str, Any]]:
        """(key, value) pairs of a group; stores override this when they can do better."""
        raise NotImplementedError

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""

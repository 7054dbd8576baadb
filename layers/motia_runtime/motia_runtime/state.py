"""``ctx.state``: the state API steps call, on top of a StateStore.

It adds to the store what is the same on every host: ``update`` (atomic set/merge/increment/
decrement/remove operations, as on streams), a check of every value written (NaN, infinities, a
lone surrogate, an integer over 4,300 digits: stored, they would fail every later read of their
group, so they are refused with a ValidationError naming the group, key and field; see
jsonsafe.py) and, on the local host, queueing the state triggers of each write with the value
before and after it (see trigger_routing.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import jsonsafe
from .errors import StateError, StreamError
from .ports.state import StateMutation, StatePage, StateStore
from .update_ops import apply_ops

if TYPE_CHECKING:
    from .trigger_routing import TriggerPublisher


def apply_state_ops(current: Any, ops: Sequence[dict[str, Any]], where: str) -> dict[str, Any]:
    if current is not None and not isinstance(current, dict):
        raise StateError(f"state {where}: update needs an object value, the key holds {type(current).__name__}")
    try:
        return apply_ops(current, ops)
    except StreamError as exc:  # the ops' own errors, named for what they were applied to
        raise StateError(f"state {where}: {exc}") from None


def _checked(group: str, key: str, fn: StateMutation) -> StateMutation:
    def mutation(current: Any) -> Any:
        new = fn(current)
        jsonsafe.check(new, f"state value {group!r}/{key!r}")
        return new

    return mutation


class State(StateStore):
    """One project's state; a StateStore itself, so hosts and tracing wrap it like any store."""

    def __init__(self, store: StateStore, triggers: TriggerPublisher | None = None) -> None:
        self.store = store
        self.triggers = triggers if triggers is not None and triggers.router.has_state_triggers else None

    def _watched(self, group: str, key: str, op: str) -> TriggerPublisher | None:
        triggers = self.triggers
        if triggers is None or not triggers.router.watches_state(group, key):
            return None
        triggers.check(f"state {op} {group}/{key}")
        return triggers

    async def get(self, group: str, key: str) -> Any | None:
        return await self.store.get(group, key)

    async def set(self, group: str, key: str, value: Any) -> Any:
        jsonsafe.check(value, f"state value {group!r}/{key!r}")
        triggers = self._watched(group, key, "set")
        if triggers is None:
            return await self.store.set(group, key, value)
        existed, old, new = await self.store.mutate_entry(group, key, lambda _current: value)
        await triggers.state_changed(group, key, "update" if existed else "create", old, new)
        return value

    async def update(self, group: str, key: str, ops: Sequence[dict[str, Any]]) -> Any:
        """Apply ``ops`` atomically (the value is an object; a missing key starts from ``{}``) and
        return the new value."""
        triggers = self._watched(group, key, "update")
        existed, old, new = await self.store.mutate_entry(group, key, _checked(
            group, key, lambda current: apply_state_ops(current, ops, f"{group}/{key}")))
        if triggers is not None:
            await triggers.state_changed(group, key, "update" if existed else "create", old, new)
        return new

    async def mutate(self, group: str, key: str, fn: StateMutation) -> tuple[Any | None, Any]:
        return await self.store.mutate(group, key, _checked(group, key, fn))

    async def delete(self, group: str, key: str) -> Any | None:
        triggers = self._watched(group, key, "delete")
        if triggers is None:
            return await self.store.delete(group, key)
        existed, old = await self.store.delete_entry(group, key)
        if existed:  # a key that held null is deleted too (as on AWS)
            await triggers.state_changed(group, key, "delete", old, None)
        return old

    async def get_group(self, group: str) -> list[Any]:
        return await self.store.get_group(group)

    getGroup = get_group  # noqa: N815 - Motia's spelling

    async def items(self, group: str) -> list[tuple[str, Any]]:
        return await self.store.items(group)

    async def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage:
        return await self.store.page(group, limit=limit, after=after, descending=descending)

    async def clear(self, group: str) -> None:
        if self.triggers is None:
            await self.store.clear(group)
            return
        watched = [(key, value) for key, value in await self.store.items(group)
                   if self._watched(group, key, "clear") is not None]
        await self.store.clear(group)
        for key, value in watched:
            await self.triggers.state_changed(group, key, "delete", value, None)

    async def list_groups(self) -> list[str]:
        return await self.store.list_groups()

    async def aclose(self) -> None:
        await self.store.aclose()

    # Motia 1.0's name for get_group. Last in the class: an annotation after it would read ``list``
    # as this method, not the builtin.
    list = get_group

"""The orchestrator's transition journal: what makes a status change safe to deliver twice.

Events are delivered at least once: a crash (or a failed emit) after the status was written but
before the transition's stream item and side emit went out is followed by a redelivery that
finds the pet already in the new status. Without a record, that redelivery would see nothing
to do, and the pet would stop there for good (never health-checked, never posted).

So each transition is written down before it is applied (``pet-transitions`` → pet id →
``{from, to, message, stage, emit}``, the side emit's data included, so a replay sends the same
thing) and erased once it and its automatic progressions are done. Whatever delivery runs next
for the pet first finishes what the journal holds. See docs/idempotent-steps.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from motia_types import Context



TRANSITIONS = "pet-transitions"


async def begin(ctx: Context, pet_id: str, entry: dict[str, Any]) -> None:
    await ctx.state.set(TRANSITIONS, pet_id, entry)


async def unfinished(ctx: Context, pet_id: str) -> dict[str, Any] | None:
    entry = await ctx.state.get(TRANSITIONS, pet_id)
    return entry if isinstance(entry, dict) else None


async def finish(ctx: Context, pet_id: str) -> None:
    await ctx.state.delete(TRANSITIONS, pet_id)

"""A state trigger: keep the ``shelterStats`` counts live as pets are created, change status or go.

Every change of a key of the ``pets`` state group reaches this step with the pet before and
after it; the counts move by the difference, with one atomic stream ``update`` (increment and
decrement), so changes of different pets never lose each other's counts. The trigger's queue is
FIFO per pet, so one pet's changes arrive in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.pets import events as ev
from functions.pets.store import PETS

if TYPE_CHECKING:
    from motia_types import ShelterStatsChange, ShelterStatsContext

    from motia_runtime.typed import UpdateOp

config = {
    "type": "state",
    "name": "ShelterStats",
    "description": "Counts pets per status into the shelterStats stream (state trigger on the pets group)",
    "group": PETS,
    "flows": [ev.FLOW],
}

GROUP, ITEM = "shelter", "counts"


def _status(pet: Any) -> str | None:
    return pet.get("status") if isinstance(pet, dict) else None


async def handler(change: ShelterStatsChange, ctx: ShelterStatsContext) -> None:
    before, after = _status(change["old_value"]), _status(change["new_value"])
    if before == after:
        return  # a change of other fields (notes, flags): the counts stay
    ops: list[UpdateOp] = []
    if before is not None:
        ops.append({"type": "decrement", "path": f"byStatus.{before}", "by": 1})
    if after is not None:
        ops.append({"type": "increment", "path": f"byStatus.{after}", "by": 1})
    if before is None:
        ops.append({"type": "increment", "path": "total", "by": 1})
    elif after is None:
        ops.append({"type": "decrement", "path": "total", "by": 1})
    await ctx.streams.shelterStats.update(GROUP, ITEM, ops)

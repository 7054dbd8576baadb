"""Daily at 02:00: hard-remove the pets whose soft-delete grace period (``purgeAt``) has passed.

It emits nothing: the tutorial's Python reaper emitted ``pet.purged`` and ``reaper.completed``,
which no step consumes; the counts are logged instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets.store import now_ms, pets_due_for_purge, remove_pet

from motia_runtime import CronConfig

config = CronConfig(
    name="DeletionReaper",
    description="Permanently remove pets whose purgeAt has passed",
    cron="0 2 * * *",
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import DeletionReaperContext



async def handler(ctx: DeletionReaperContext) -> None:
    now = now_ms()
    due = await pets_due_for_purge(ctx, now)
    ctx.logger.info("🔄 Deletion Reaper started", {"due": len(due)})
    purged = []
    for pet in due:
        if await remove_pet(ctx, pet["id"]):
            purged.append(pet["id"])
            ctx.logger.info("💀 Pet permanently purged", {"petId": pet["id"], "name": pet.get("name"),
                                                          "deletedAt": pet.get("deletedAt"),
                                                          "purgeAt": pet.get("purgeAt")})
    ctx.logger.info("✅ Deletion Reaper completed", {"scanned": len(due), "purgedCount": len(purged),
                                                     "purged": purged})

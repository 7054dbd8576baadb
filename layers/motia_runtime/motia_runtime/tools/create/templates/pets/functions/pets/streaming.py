"""Writing a pet's progress to the ``petCreation`` stream, and the pauses between stages.

Every write goes to the group the pet's creation returned (``pet["streamGroupId"]``), never to
the trace id of whatever request happens to be running: a staff ``PUT`` or an agent call has
its own trace id, and nobody is subscribed to it (defect 3 of the tutorial).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from motia_types import Context, PetCreationData, PetCreationItem

STAGE_DELAY_ENV = "PET_STAGE_DELAY_MS"
FIELD_DELAY_ENV = "PET_FIELD_DELAY_MS"
# The tutorial sleeps 1 s between the job's stages and 300 ms between enrichment fields.
DEFAULT_STAGE_DELAY_MS = 1000
DEFAULT_FIELD_DELAY_MS = 300


def _delay_s(env: str, default_ms: int) -> float:
    # Read at each call, not at import: a warm Lambda or a test may change the environment.
    raw = os.environ.get(env, "")
    try:
        return max(int(raw), 0) / 1000 if raw.strip() else default_ms / 1000
    except ValueError:
        return default_ms / 1000


async def stage_pause() -> None:
    """The pause between two stages of the pet's journey (``PET_STAGE_DELAY_MS``, default 1000)."""
    await asyncio.sleep(_delay_s(STAGE_DELAY_ENV, DEFAULT_STAGE_DELAY_MS))


async def field_pause() -> None:
    """The pause between streamed fallback profile fields (``PET_FIELD_DELAY_MS``, default 300)."""
    await asyncio.sleep(_delay_s(FIELD_DELAY_ENV, DEFAULT_FIELD_DELAY_MS))


async def publish(
    ctx: Context,
    pet: Mapping[str, Any],
    item_id: str,
    message: str,
    stage: tuple[str, int] | str,
    progress: int | None = None,
    *,
    field: str | None = None,
    value: str | list[str] | None = None,
) -> PetCreationItem | None:
    """Set item ``item_id`` of the pet's group; returns the stream item (with ``__motia``).

    ``stage`` is a ``(stage, progress)`` pair from ``messages`` or a stage name with ``progress``.
    """
    group = pet.get("streamGroupId")
    if not group:
        ctx.logger.warn("Pet has no stream group; update not streamed", {"petId": pet.get("id"), "item": item_id})
        return None
    name, pct = stage if isinstance(stage, tuple) else (stage, progress if progress is not None else 0)
    data: PetCreationData = {"message": message, "stage": name, "progress": pct, "petId": pet.get("id"),
                             "status": pet.get("status")}
    if field is not None:
        data["field"] = field
        data["value"] = value
    return await ctx.streams.petCreation.set(group, item_id, data)

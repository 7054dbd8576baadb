"""The pet store, kept in ``ctx.state`` so the same code runs locally (SQLite) and on Lambda (DynamoDB).

The tutorial keeps pets in ``.data/pets.json`` with a sequence counter: neither survives on
Lambda (no shared disk, and concurrent invocations would race on the counter), so every record is
a state entry and an id is the creation time (milliseconds, 11 hex digits) then 6 random hex
digits: ids sort by creation, so ``GET /pets`` pages the group by key, newest first, and reads
only the page (``ctx.state.page``) on SQLite, Redis and DynamoDB alike.

Layout (state group → key → value):
- ``pets`` → pet id → the pet's own fields (status, flags, notes, ...);
- ``pet-profiles`` → pet id → the AI profile, ``{"petId", "bio", ...}``;
- ``pet-agent-decisions`` → ``<pet id>:<agent>`` → the last agent decision (a 60 s cache).

The profile lives apart from the pet because the enrichment writes it while the orchestrator
changes the pet's status: with one writer per record neither can overwrite the other's change
(state has no atomic update; on DynamoDB two read-modify-writes of one item can lose one).
Status changes are serialised per pet by the orchestrator's FIFO queue. What is left: a staff
``PUT`` of fields or a ``DELETE`` landing within the same few milliseconds as a transition can
still lose one of the two writes (``patch_pet`` re-reads just before writing to keep that short).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from motia_types import Context



PETS = "pets"
PROFILES = "pet-profiles"
DECISIONS = "pet-agent-decisions"

DAY_MS = 24 * 60 * 60 * 1000
PURGE_AFTER_MS = 30 * DAY_MS
NEXT_FEEDING_AFTER_MS = DAY_MS
WELCOME_NOTE = "Welcome to our pet store! We'll take great care of this pet."


def now_ms() -> int:
    return int(time.time() * 1000)


# Ids made before they were time-ordered were 12 random hex digits: still valid, and still cursors.
PET_ID = re.compile(r"^[0-9a-f]{12,17}$")


def new_pet_id() -> str:
    """Creation time first, so key order is creation order (within a millisecond, random)."""
    return f"{now_ms():011x}{secrets.token_hex(3)}"


async def create_pet(ctx: Context, fields: Mapping[str, Any], stream_group_id: str) -> dict[str, Any]:
    """Store a new pet with status ``new``; ``stream_group_id`` is where its stream updates go."""
    now = now_ms()
    pet: dict[str, Any] = {
        "id": new_pet_id(),
        "name": fields["name"],
        "species": fields["species"],
        "ageMonths": fields["ageMonths"],
        "symptoms": list(fields.get("symptoms") or []),
        "flags": [],
        "status": "new",
        "createdAt": now,
        "updatedAt": now,
        "streamGroupId": stream_group_id,
    }
    if fields.get("weightKg") is not None:
        pet["weightKg"] = fields["weightKg"]
    await ctx.state.set(PETS, pet["id"], pet)
    return pet


def _with_profile(pet: dict[str, Any], profile: Mapping[str, Any] | None) -> dict[str, Any]:
    if profile:
        pet["profile"] = {k: v for k, v in profile.items() if k != "petId"}
    return pet


async def get_pet(ctx: Context, pet_id: str) -> dict[str, Any] | None:
    """The pet with its ``profile`` (when enrichment has run), or None."""
    pet = await ctx.state.get(PETS, pet_id)
    if not isinstance(pet, dict):
        return None
    return _with_profile(pet, await ctx.state.get(PROFILES, pet_id))


@dataclass(frozen=True, slots=True)
class PetPage:
    pets: list[dict[str, Any]]
    next_cursor: str | None  # the last pet's id when more pets follow


async def list_pets(ctx: Context, limit: int, cursor: str | None = None) -> PetPage:
    """Up to ``limit`` pets, the most recently created first, starting after the pet ``cursor``.

    Only the page is read (and each listed pet's profile, concurrently), however many pets are
    stored. The order is by creation, not by last update: a pet changing while a client pages
    would otherwise move between pages, and be listed twice or not at all.
    """
    page = await ctx.state.page(PETS, limit=limit, after=cursor, descending=True)
    pets = [p for _, p in page.items if isinstance(p, dict)]
    profiles = await asyncio.gather(*(ctx.state.get(PROFILES, p["id"]) for p in pets))
    return PetPage([_with_profile(p, profile) for p, profile in zip(pets, profiles, strict=True)],
                   page.next_after)


async def patch_pet(ctx: Context, pet_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Apply ``changes`` to the stored pet (a None value removes the key); returns it, or None if missing.

    The pet is read again right before the write so that only these fields change.
    """
    pet = await ctx.state.get(PETS, pet_id)
    if not isinstance(pet, dict):
        return None
    for key, value in changes.items():
        if value is None:
            pet.pop(key, None)
        else:
            pet[key] = value
    pet["updatedAt"] = now_ms()
    await ctx.state.set(PETS, pet_id, pet)
    return _with_profile(pet, await ctx.state.get(PROFILES, pet_id))


async def save_profile(ctx: Context, pet_id: str, profile: Mapping[str, Any]) -> None:
    await ctx.state.set(PROFILES, pet_id, {"petId": pet_id, **profile})


async def get_profile(ctx: Context, pet_id: str) -> dict[str, Any] | None:
    profile = await ctx.state.get(PROFILES, pet_id)
    return {k: v for k, v in profile.items() if k != "petId"} if isinstance(profile, dict) else None


async def soft_delete(ctx: Context, pet_id: str) -> dict[str, Any] | None:
    """Mark the pet ``deleted`` with ``purgeAt`` 30 days on; deleting again keeps the first purge date."""
    pet = await ctx.state.get(PETS, pet_id)
    if not isinstance(pet, dict):
        return None
    if pet.get("status") == "deleted" and pet.get("purgeAt"):
        return pet
    now = now_ms()
    return await patch_pet(ctx, pet_id, {"status": "deleted", "deletedAt": now, "purgeAt": now + PURGE_AFTER_MS})


async def pets_due_for_purge(ctx: Context, now: int) -> list[dict[str, Any]]:
    return [p for p in await ctx.state.get_group(PETS)
            if isinstance(p, dict) and p.get("status") == "deleted" and 0 < p.get("purgeAt", 0) <= now]


async def remove_pet(ctx: Context, pet_id: str) -> bool:
    """Hard-delete the pet and everything kept about it; True if it existed."""
    existed = await ctx.state.delete(PETS, pet_id) is not None
    await ctx.state.delete(PROFILES, pet_id)
    for agent in ("health-review", "adoption-review"):
        await ctx.state.delete(DECISIONS, f"{pet_id}:{agent}")
    return existed

"""Builds the adoption posting of a pet that became available (log only, as in the tutorial)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import care
from functions.pets import events as ev
from functions.pets.models import PetRef
from functions.pets.store import get_pet, now_ms

from motia_runtime import EventConfig

config = EventConfig(
    name="AdoptionPosting",
    description="Post a pet for adoption once it is ready",
    subscribes=[ev.ADOPTION_READY],
    input=PetRef,
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import AdoptionPostingContext, AdoptionPostingInput



async def handler(input: AdoptionPostingInput, ctx: AdoptionPostingContext) -> None:
    ctx.logger.info("🏠 Adoption Posting triggered", {"petId": input["petId"]})
    pet = await get_pet(ctx, input["petId"])
    if pet is None:
        ctx.logger.error("❌ Pet not found for adoption posting", {"petId": input["petId"]})
        return
    posting = care.adoption_posting(pet, now_ms())
    ctx.logger.info("📝 Adoption posting created", posting)

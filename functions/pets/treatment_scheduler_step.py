"""Schedules treatment for a pet the orchestrator put under treatment (log only, as in the tutorial)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from functions.pets import care
from functions.pets import events as ev
from functions.pets.models import PetRef
from functions.pets.store import get_pet, now_ms

from motia_runtime import EventConfig

config = EventConfig(
    name="TreatmentScheduler",
    description="Schedule veterinary treatment and medication for a pet that needs care",
    subscribes=[ev.TREATMENT_REQUIRED],
    input=PetRef,
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import TreatmentSchedulerContext, TreatmentSchedulerInput



async def handler(input: TreatmentSchedulerInput, ctx: TreatmentSchedulerContext) -> None:
    extra: Mapping[str, Any] = input  # PetRef keeps the fields the emitter added (extra="allow")
    ctx.logger.info("🏥 Treatment Scheduler triggered", {"petId": input["petId"], "symptoms": input.get("symptoms")})
    pet = await get_pet(ctx, input["petId"])
    if pet is None:
        ctx.logger.error("❌ Pet not found for treatment scheduling", {"petId": input["petId"]})
        return
    schedule = care.treatment_schedule(pet["id"], extra.get("symptoms") or pet.get("symptoms") or [], now_ms())
    ctx.logger.info("📅 Treatment scheduled", schedule)

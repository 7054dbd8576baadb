"""Plans recovery when treatment starts and follow-ups when it completes (log only, as in the tutorial)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from functions.pets import care
from functions.pets import events as ev
from functions.pets.models import PetRef
from functions.pets.store import get_pet, now_ms

from motia_runtime import EventConfig

config = EventConfig(
    name="RecoveryMonitor",
    description="Monitor recovery and schedule follow-up health checks",
    subscribes=[ev.TREATMENT_STARTED, ev.TREATMENT_COMPLETED],
    input=PetRef,
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import RecoveryMonitorContext, RecoveryMonitorInput



async def handler(input: RecoveryMonitorInput, ctx: RecoveryMonitorContext) -> None:
    extra: Mapping[str, Any] = input  # PetRef keeps the fields the emitter added (extra="allow")
    status = extra.get("treatmentStatus")
    ctx.logger.info("🩺 Recovery Monitor triggered", {"petId": input["petId"], "treatmentStatus": status})
    if await get_pet(ctx, input["petId"]) is None:
        ctx.logger.error("❌ Pet not found for recovery monitoring", {"petId": input["petId"]})
        return
    if status == "started":
        plan = care.recovery_plan(input["petId"], extra.get("treatmentType") or "General Medical Examination", now_ms())
        ctx.logger.info("📋 Recovery plan created", plan)
    else:
        follow_up = care.follow_up_schedule(input["petId"], now_ms())
        ctx.logger.info("✅ Treatment completed, scheduling follow-up", follow_up)

"""The feeding reminder job: feeding schedule, then (once quarantined) the symptom health check.

It runs twice per pet, in order:
1. on ``feeding.reminder.enqueued`` (from CreatePet): set the welcome note and the next feeding
   time, pause, and emit ``feeding.reminder.completed``;
2. on ``pet.quarantined`` (the orchestrator's side emit of ``new → in_quarantine``): stream the
   quarantine message, the health check verdict and its conclusion, one stage pause apart, then
   ask the orchestrator for ``healthy`` or ``ill`` with ``pet.status.update.requested``.

The tutorial's job set ``status = in_quarantine`` itself, so the orchestrator's
``new → in_quarantine`` rule never matched ("Transition rejected"). Here only the orchestrator
changes the status; the job reacts to the quarantine instead of causing it behind its back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from functions.pets import events as ev
from functions.pets import messages as msg
from functions.pets.models import FeedingJobInput
from functions.pets.store import NEXT_FEEDING_AFTER_MS, WELCOME_NOTE, get_pet, now_ms, patch_pet
from functions.pets.streaming import publish, stage_pause

from motia_runtime import EventConfig

config = EventConfig(
    name="SetNextFeedingReminder",
    description="Background job: feeding schedule and welcome note, then the quarantine health check",
    subscribes=[ev.FEEDING_REMINDER_ENQUEUED, ev.PET_QUARANTINED],
    emits=[ev.FEEDING_REMINDER_COMPLETED, ev.STATUS_UPDATE_REQUESTED],
    input=FeedingJobInput,
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import Context, SetNextFeedingReminderContext, SetNextFeedingReminderInput



async def handler(input: SetNextFeedingReminderInput, ctx: SetNextFeedingReminderContext) -> None:
    if input["event"] == ev.PET_QUARANTINED:
        await _health_check(input, ctx)
    else:
        await _set_feeding_reminder(input, ctx)


async def _set_feeding_reminder(input: Mapping[str, Any], ctx: Context) -> None:
    pet_id = input["petId"]
    ctx.logger.info("🔄 Setting next feeding reminder", {"petId": pet_id, "enqueuedAt": input.get("enqueuedAt")})
    next_feeding_at = now_ms() + NEXT_FEEDING_AFTER_MS
    pet = await patch_pet(ctx, pet_id, {"notes": WELCOME_NOTE, "nextFeedingAt": next_feeding_at})
    if pet is None:
        ctx.logger.error("❌ Failed to set feeding reminder - pet not found", {"petId": pet_id})
        return
    ctx.logger.info("✅ Next feeding reminder set", {"petId": pet_id, "nextFeedingAt": next_feeding_at})
    # The pause between "created" and "quarantine" on the pet's stream.
    await stage_pause()
    enqueued_at = input.get("enqueuedAt")
    await ev.emit_for_pet(ctx, ev.FEEDING_REMINDER_COMPLETED, pet_id, {
        "event": ev.FEEDING_REMINDER_COMPLETED, "completedAt": now_ms(),
        "processingTimeMs": now_ms() - enqueued_at if isinstance(enqueued_at, int) else None,
    })


async def _health_check(input: Mapping[str, Any], ctx: Context) -> None:
    pet = await get_pet(ctx, input["petId"])
    if pet is None or pet["status"] != "in_quarantine":
        # Deleted, or moved on by staff meanwhile: a health check result would be stale.
        ctx.logger.warn("Health check skipped: pet not in quarantine",
                        {"petId": input["petId"], "status": pet and pet["status"]})
        return
    name, symptoms = pet["name"], pet.get("symptoms") or []
    await publish(ctx, pet, msg.MESSAGE_ITEM, msg.entered_quarantine(name), msg.QUARANTINE)
    await stage_pause()
    if symptoms:
        await publish(ctx, pet, msg.MESSAGE_ITEM, msg.health_check_failed(name, symptoms), msg.HEALTH_CHECK)
        await stage_pause()
        await publish(ctx, pet, msg.MESSAGE_ITEM, msg.needs_treatment(name), msg.HEALTH_RESULT)
        verdict = "ill"
    else:
        await publish(ctx, pet, msg.MESSAGE_ITEM, msg.health_check_passed(name), msg.HEALTH_CHECK)
        await stage_pause()
        await publish(ctx, pet, msg.MESSAGE_ITEM, msg.healthy_and_ready(name), msg.HEALTH_RESULT)
        verdict = "healthy"
    ctx.logger.info("🩺 Quarantine health check done", {"petId": pet["id"], "symptoms": symptoms, "verdict": verdict})
    await ev.emit_for_pet(ctx, ev.STATUS_UPDATE_REQUESTED, pet["id"], {
        "event": ev.STATUS_UPDATE_EVENT, "requestedStatus": verdict, "currentStatus": pet["status"],
        "reason": "quarantine health check",
    })

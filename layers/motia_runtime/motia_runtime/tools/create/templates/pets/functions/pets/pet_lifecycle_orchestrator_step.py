"""The lifecycle orchestrator: the only step that changes a pet's status.

It applies the rules of ``functions.pets.lifecycle``: find the rule for the event and the pet's
status (and the requested status for staff requests), check its guards, apply the status and
flag, stream the transition, fire the side emit, then follow the automatic progressions
(healthy → available, ill → under_treatment, recovered → healthy, chained), each streamed and
with its own side emit.

Its queue is FIFO with the pet id as message group: a pet's events are applied one at a time and
in order, so two requests for one pet cannot both read the old status.

Differences from the tutorial, each a defect there:
- transitions are streamed to the pet's own group (``streamGroupId``), not to the trace id of the
  staff or agent request that caused them, so the client watching the pet sees them;
- automatic progressions fire their side emits too (the tutorial's skipped them, so an ill pet
  never reached the treatment scheduler and a healthy one was never posted for adoption);
- a rule that only adds a flag (``adoption.needs_data``) adds it: the tutorial's idempotency check
  returned first because the status does not change;
- a side emit is not repeated to the topic that caused the transition (``adoption.ready`` from the
  adoption agent already reached AdoptionPosting);
- a redelivered event (after a crash between the status write and the side emit) finishes the
  transition instead of stopping: each transition goes through ``functions.pets.journal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.pets import events as ev
from functions.pets import journal, lifecycle
from functions.pets import messages as msg
from functions.pets.models import LifecycleInput
from functions.pets.store import get_pet, now_ms, patch_pet
from functions.pets.streaming import publish

from motia_runtime import EventConfig

config = EventConfig(
    name="PetLifecycleOrchestrator",
    description="Pet lifecycle state machine: rules, guards, flags, side emits and automatic progressions",
    subscribes=[
        ev.FEEDING_REMINDER_COMPLETED,
        ev.STATUS_UPDATE_REQUESTED,
        ev.HEALTH_TREATMENT_REQUIRED,
        ev.HEALTH_NO_TREATMENT_NEEDED,
        ev.ADOPTION_NEEDS_DATA,
        ev.ADOPTION_READY,
    ],
    emits=[ev.PET_QUARANTINED, ev.TREATMENT_REQUIRED, ev.ADOPTION_READY, ev.TREATMENT_COMPLETED],
    input=LifecycleInput,
    flows=[ev.FLOW],
    infrastructure={"queue": {"type": "fifo"}},
)

if TYPE_CHECKING:
    from motia_types import Context, PetLifecycleOrchestratorContext, PetLifecycleOrchestratorInput


# A chain is at most recovered → healthy → available; the bound only guards against a bad table.
MAX_AUTOMATIC_STEPS = 5


async def handler(input: PetLifecycleOrchestratorInput, ctx: PetLifecycleOrchestratorContext) -> None:
    pet_id, event, requested = input["petId"], input["event"], input.get("requestedStatus")
    ctx.logger.info("🔄 Lifecycle orchestrator processing", {"petId": pet_id, "eventType": event,
                                                              "requestedStatus": requested})
    pet = await get_pet(ctx, pet_id)
    if pet is None:
        ctx.logger.error("❌ Pet not found for lifecycle transition", {"petId": pet_id, "eventType": event})
        return
    pet = await _finish_interrupted(ctx, pet)
    status = pet["status"]
    rule = lifecycle.find_rule(event, status, requested)
    if rule is None:
        if lifecycle.already_there(event, status, requested):
            ctx.logger.info("✅ Already in target status", {"petId": pet_id, "status": status, "eventType": event})
        else:
            reason = (f"Invalid transition: cannot change from {status} to {requested}"
                      if event == ev.STATUS_UPDATE_EVENT else f"No transition rule found for {event} from {status}")
            ctx.logger.warn("⚠️ Transition rejected", {"petId": pet_id, "currentStatus": status,
                                                       "requestedStatus": requested, "eventType": event,
                                                       "reason": reason})
        return
    blocked = lifecycle.blocked_by(pet, rule.guards)
    if blocked:
        ctx.logger.warn("⚠️ Transition blocked by guard", {"petId": pet_id, "eventType": event, "guard": blocked,
                                                           "currentStatus": status})
        return

    if rule.add_flag:
        if rule.add_flag not in pet.get("flags", []):
            pet = await patch_pet(ctx, pet_id, {"flags": [*pet.get("flags", []), rule.add_flag]}) or pet
            ctx.logger.info("🏷️ Flag added", {"petId": pet_id, "flag": rule.add_flag})
        # Written whether or not the flag was new: a redelivery after a crash between the two
        # writes still streams it (the same item, so a repeat changes nothing).
        await publish(ctx, pet, "flags", msg.flag_added(rule.add_flag, rule.description), "flag", 100)
    if status == rule.to:
        ctx.logger.info("✅ Already in target status", {"petId": pet_id, "status": status, "eventType": event})
        return

    pet = await _transition(ctx, pet, rule.to, msg.status_transition(status, rule.to, rule.description),
                            "transition", cause=_topic_of(event))
    await _progress(ctx, pet)
    await journal.finish(ctx, pet_id)


async def _finish_interrupted(ctx: Context, pet: dict[str, Any]) -> dict[str, Any]:
    """Complete a transition an earlier delivery wrote down but did not finish (a crash)."""
    entry = await journal.unfinished(ctx, pet["id"])
    if entry is None:
        return pet
    ctx.logger.warn("♻️ Finishing an interrupted transition", {"petId": pet["id"], "from": entry["from"],
                                                               "to": entry["to"], "status": pet["status"]})
    pet = await _apply(ctx, pet, entry)
    pet = await _progress(ctx, pet)
    await journal.finish(ctx, pet["id"])
    return pet


async def _progress(ctx: Context, pet: dict[str, Any]) -> dict[str, Any]:
    """Follow the automatic progressions from the pet's status."""
    pet_id = pet["id"]
    for _ in range(MAX_AUTOMATIC_STEPS):
        step = lifecycle.automatic_next(pet["status"])
        if step is None:
            break
        auto_rule, description = step
        blocked = lifecycle.blocked_by(pet, auto_rule.guards)
        if blocked:
            ctx.logger.warn("⚠️ Automatic progression blocked by guard",
                            {"petId": pet_id, "currentStatus": pet["status"], "targetStatus": auto_rule.to,
                             "guard": blocked})
            break
        pet = await _transition(ctx, pet, auto_rule.to,
                                msg.automatic_transition(pet["status"], auto_rule.to, description), "automatic")
    return pet


def _topic_of(event: str) -> str:
    return ev.STATUS_UPDATE_REQUESTED if event == ev.STATUS_UPDATE_EVENT else event


async def _transition(ctx: Context, pet: dict[str, Any], to: str, message: str, stage: str,
                      cause: str | None = None) -> dict[str, Any]:
    """Journal the transition, then apply it (see ``_apply``)."""
    old = pet["status"]
    topic = lifecycle.SIDE_EMITS.get((old, to))
    side_emit = None
    if topic is not None and topic != cause:
        side_emit = {"topic": topic, "data": _side_emit_data(topic, {**pet, "status": to})}
    entry = {"from": old, "to": to, "message": message, "stage": stage, "emit": side_emit}
    await journal.begin(ctx, pet["id"], entry)
    return await _apply(ctx, pet, entry)


async def _apply(ctx: Context, pet: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Write the new status, stream it on the item named after it, and fire the side emit.
    Safe to run again for the same entry: each write leaves the same result."""
    old, to = entry["from"], entry["to"]
    if pet["status"] == old:
        updated = await patch_pet(ctx, pet["id"], {"status": to})
        if updated is None:
            raise LookupError(f"pet {pet['id']} vanished during the transition {old} → {to}")
    elif pet["status"] == to:
        updated = pet  # written before the interruption
    else:
        ctx.logger.warn("Interrupted transition no longer applies", {"petId": pet["id"], "from": old, "to": to,
                                                                     "status": pet["status"]})
        return pet
    ctx.logger.info("✅ Lifecycle transition completed", {"petId": pet["id"], "oldStatus": old, "newStatus": to,
                                                          "message": entry["message"]})
    await publish(ctx, updated, to, entry["message"], entry["stage"], 100)
    side_emit = entry.get("emit")
    if side_emit:
        await ev.emit_for_pet(ctx, side_emit["topic"], pet["id"], side_emit["data"])
        ctx.logger.info("📣 Next action event emitted", {"petId": pet["id"], "topic": side_emit["topic"]})
    return updated


def _side_emit_data(topic: str, pet: dict[str, Any]) -> dict[str, Any]:
    now = now_ms()
    profile = pet.get("profile")
    if topic == ev.TREATMENT_REQUIRED:
        return {"symptoms": pet.get("symptoms") or [], "urgency": "normal", "profile": profile, "timestamp": now}
    if topic == ev.ADOPTION_READY:
        # ``event`` too: the orchestrator itself subscribes to adoption.ready and keys rules on it.
        return {"event": ev.ADOPTION_READY, "profile": profile,
                "temperament": (profile or {}).get("temperamentTags", []),
                "adopterHints": (profile or {}).get("adopterHints"), "timestamp": now}
    if topic == ev.TREATMENT_COMPLETED:
        return {"treatmentType": "general_recovery", "treatmentStatus": "completed", "timestamp": now}
    return {"event": topic, "at": now}

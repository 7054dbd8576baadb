"""``PUT /pets/:id``: patch a pet's fields; a status change is only a request to the orchestrator.

Field changes are applied at once (200 with the pet). A new ``status`` is not written here: it is
emitted as ``pet.status.update.requested`` for the lifecycle orchestrator, and the answer is 202
(the outcome shows on the pet's stream). A change no rule allows from the pet's current status is
refused at once with 409 and the allowed targets; the orchestrator still checks again, since the
status may move on before the event is handled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets.lifecycle import staff_targets
from functions.pets.models import PetPatch
from functions.pets.store import get_pet, patch_pet

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="UpdatePet",
    description="Update a pet; status changes go through the lifecycle orchestrator",
    path="/pets/:id",
    method="PUT",
    emits=[ev.STATUS_UPDATE_REQUESTED],
    flows=[ev.FLOW],
    body_schema=PetPatch,
)

if TYPE_CHECKING:
    from motia_types import UpdatePetContext, UpdatePetRequest, UpdatePetResponse



async def handler(req: UpdatePetRequest, ctx: UpdatePetContext) -> UpdatePetResponse:
    pet_id = req["pathParams"]["id"]
    pet = await get_pet(ctx, pet_id)
    if pet is None:
        return {"status": 404, "body": {"error": "Pet not found", "petId": pet_id}}
    body = {k: v for k, v in (req["body"] or {}).items() if v is not None}
    requested = body.pop("status", None)
    if body:
        pet = await patch_pet(ctx, pet_id, body)
        if pet is None:  # removed meanwhile by the reaper
            return {"status": 404, "body": {"error": "Pet not found", "petId": pet_id}}
    if requested is None or requested == pet["status"]:
        return {"status": 200, "body": pet}

    allowed = staff_targets(pet["status"])
    if requested not in allowed:
        return {"status": 409, "body": {
            "error": f"Illegal status change: {pet['status']} → {requested}", "petId": pet_id,
            "currentStatus": pet["status"], "requestedStatus": requested, "allowed": allowed,
        }}
    ctx.logger.info("👤 Staff requesting status change",
                    {"petId": pet_id, "currentStatus": pet["status"], "requestedStatus": requested})
    await ev.emit_for_pet(ctx, ev.STATUS_UPDATE_REQUESTED, pet_id, {
        "event": ev.STATUS_UPDATE_EVENT, "requestedStatus": requested, "currentStatus": pet["status"],
    })
    return {"status": 202, "body": {
        "message": "Status change request submitted", "petId": pet_id, "currentStatus": pet["status"],
        "requestedStatus": requested, "streamGroupId": pet.get("streamGroupId"),
    }}

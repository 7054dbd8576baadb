"""``DELETE /pets/:id``: soft delete; the deletion reaper removes the pet after 30 days."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets.store import soft_delete

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="DeletePet",
    description="Soft-delete a pet (status deleted, purged 30 days later)",
    path="/pets/:id",
    method="DELETE",
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import DeletePetContext, DeletePetRequest, DeletePetResponse



async def handler(req: DeletePetRequest, ctx: DeletePetContext) -> DeletePetResponse:
    pet_id = req["pathParams"]["id"]
    pet = await soft_delete(ctx, pet_id)
    if pet is None:
        return {"status": 404, "body": {"error": "Pet not found", "petId": pet_id}}
    ctx.logger.info("🗑️ Pet scheduled for deletion", {"petId": pet_id, "purgeAt": pet["purgeAt"]})
    return {"status": 202, "body": {"message": "Pet scheduled for deletion", "petId": pet_id,
                                    "purgeAt": pet["purgeAt"]}}

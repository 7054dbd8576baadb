"""``GET /pets/:id``: one pet with its AI profile, or 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets.store import get_pet

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="GetPet",
    description="Get a pet by id",
    path="/pets/:id",
    method="GET",
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import GetPetContext, GetPetRequest, GetPetResponse



async def handler(req: GetPetRequest, ctx: GetPetContext) -> GetPetResponse:
    pet_id = req["pathParams"]["id"]
    pet = await get_pet(ctx, pet_id)
    if pet is None:
        return {"status": 404, "body": {"error": "Pet not found", "petId": pet_id}}
    return {"status": 200, "body": pet}

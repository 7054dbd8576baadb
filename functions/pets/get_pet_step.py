"""``GET /pets/:id``: one pet with its AI profile, or 404."""

from typing import Any

from functions.pets import events as ev
from functions.pets.store import get_pet

from motia_runtime import ApiRequest, ApiRouteConfig, FlowContext

config = ApiRouteConfig(
    name="GetPet",
    description="Get a pet by id",
    path="/pets/:id",
    method="GET",
    flows=[ev.FLOW],
)


async def handler(req: ApiRequest, ctx: FlowContext) -> dict[str, Any]:
    pet_id = req["pathParams"]["id"]
    pet = await get_pet(ctx, pet_id)
    if pet is None:
        return {"status": 404, "body": {"error": "Pet not found", "petId": pet_id}}
    return {"status": 200, "body": pet}

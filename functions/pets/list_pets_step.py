"""``GET /pets``: every pet, the most recently updated first."""

from typing import Any

from functions.pets import events as ev
from functions.pets.store import list_pets

from motia_runtime import ApiRequest, ApiRouteConfig, FlowContext

config = ApiRouteConfig(
    name="ListPets",
    description="List pets, newest updatedAt first",
    path="/pets",
    method="GET",
    flows=[ev.FLOW],
)


async def handler(req: ApiRequest, ctx: FlowContext) -> dict[str, Any]:
    return {"status": 200, "body": await list_pets(ctx)}

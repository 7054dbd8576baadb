"""``GET /pets``: every pet, the most recently updated first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets.store import list_pets

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="ListPets",
    description="List pets, newest updatedAt first",
    path="/pets",
    method="GET",
    flows=[ev.FLOW],
)

if TYPE_CHECKING:
    from motia_types import ListPetsContext, ListPetsRequest, ListPetsResponse



async def handler(req: ListPetsRequest, ctx: ListPetsContext) -> ListPetsResponse:
    return {"status": 200, "body": await list_pets(ctx)}

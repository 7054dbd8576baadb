"""``GET /pets?limit=&cursor=``: a page of pets, the most recently created first.

``limit`` is 1-100 (default 20). The answer is ``{"pets": [...], "nextCursor": id | null}``: pass
``nextCursor`` back as ``cursor`` for the next page; null means this was the last. A bad ``limit``
or ``cursor`` is a 400 naming the field. Each page reads only its own pets from state, so a page
costs the same with 15 pets stored or 15,000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.pets import events as ev
from functions.pets.store import PET_ID, list_pets
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from motia_runtime import ApiRouteConfig
from motia_runtime.config import QueryParam

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, pattern=PET_ID.pattern, description="nextCursor of the previous page")


class QueryErrors(BaseModel):
    error: str
    errors: list[dict[str, str]]


class PetList(BaseModel):
    model_config = ConfigDict(extra="allow")

    pets: list[dict[str, Any]]
    nextCursor: str | None  # noqa: N815 - the JSON wire name


config = ApiRouteConfig(
    name="ListPets",
    description="List pets, the most recently created first, a page at a time",
    path="/pets",
    method="GET",
    flows=[ev.FLOW],
    query_params=[
        QueryParam(name="limit", description=f"pets per page, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})"),
        QueryParam(name="cursor", description="the nextCursor of the previous page; omit for the newest pets"),
    ],
    response_schema={200: PetList, 400: QueryErrors},
)

if TYPE_CHECKING:
    from motia_types import ListPetsContext, ListPetsRequest, ListPetsResponse


async def handler(req: ListPetsRequest, ctx: ListPetsContext) -> ListPetsResponse:
    params = req.get("queryParams") or {}
    try:
        # A repeated parameter (?limit=1&limit=2) is a list: refused as not a single value.
        query = ListQuery.model_validate({k: v for k, v in params.items() if k in ("limit", "cursor")})
    except PydanticValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "(query)", "message": e["msg"]}
                  for e in exc.errors()]
        return {"status": 400, "body": {"error": "Validation error", "errors": errors}}
    page = await list_pets(ctx, query.limit, query.cursor)
    return {"status": 200, "body": {"pets": page.pets, "nextCursor": page.next_cursor}}

"""``POST /pets``: store a new pet, start its jobs, and return the stream item to watch.

The body is validated against ``NewPet`` before the handler runs (400 naming each bad field).
The response is the ``message`` item of the ``petCreation`` stream, with ``__motia``: the
Workbench and any client subscribe to its group (this request's trace id, kept on the pet as
``streamGroupId``) and watch quarantine, health check, AI profile and status changes arrive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets import messages as msg
from functions.pets.models import NewPet
from functions.pets.store import create_pet, now_ms
from functions.pets.streaming import publish
from pydantic import ConfigDict
from streams.pet_creation_stream import PetCreationUpdate

from motia_runtime import ApiRouteConfig


class CreatedItem(PetCreationUpdate):
    """The response: the stream item as ``set`` returns it (with ``id``, ``_createdAt``, ``__motia``)."""

    model_config = ConfigDict(extra="allow")

    id: str


config = ApiRouteConfig(
    name="CreatePet",
    description="Create a pet; returns the petCreation stream item that follows it through the shelter",
    path="/pets",
    method="POST",
    emits=[ev.PET_CREATED, ev.FEEDING_REMINDER_ENQUEUED],
    flows=[ev.FLOW],
    body_schema=NewPet,
    response_schema={201: CreatedItem},
)

if TYPE_CHECKING:
    from motia_types import CreatePetContext, CreatePetRequest, CreatePetResponse



async def handler(req: CreatePetRequest, ctx: CreatePetContext) -> CreatePetResponse:
    # ctx.trace_id, not getattr(ctx, "traceId"): the tutorial's Python read None (defect 5).
    pet = await create_pet(ctx, req["body"], stream_group_id=ctx.trace_id)
    ctx.logger.info("🐾 Pet created", {"petId": pet["id"], "name": pet["name"], "species": pet["species"],
                                       "status": pet["status"], "streamGroupId": pet["streamGroupId"]})
    item = await publish(
        ctx, pet, msg.MESSAGE_ITEM,
        msg.created(pet["name"], pet["id"], pet["species"], pet["ageMonths"], pet["status"]), msg.CREATED,
    )
    await ev.emit_for_pet(ctx, ev.PET_CREATED, pet["id"], {
        "event": ev.PET_CREATED, "name": pet["name"], "species": pet["species"], "traceId": ctx.trace_id,
    })
    await ev.emit_for_pet(ctx, ev.FEEDING_REMINDER_ENQUEUED, pet["id"], {
        "event": ev.FEEDING_REMINDER_ENQUEUED, "enqueuedAt": now_ms(), "traceId": ctx.trace_id,
    })
    assert item is not None  # a new pet always has its stream group
    return {"status": 201, "body": item}

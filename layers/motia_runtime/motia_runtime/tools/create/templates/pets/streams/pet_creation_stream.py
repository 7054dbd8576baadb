"""The ``petCreation`` stream of the pet shelter walkthrough.

One group per pet: its id is the trace id of the ``POST /pets`` request that created the pet
(stored on the pet as ``streamGroupId``), so every step writing about that pet, including the
lifecycle orchestrator reacting to later staff or agent requests, lands where the client watches.

Items of a group:
- ``message``: the pet's journey (created, quarantine, health check, result), updated in place;
- ``enrichment_started``, ``progress_<field>``, ``completed``: the AI profile enrichment;
- one item per status reached (``in_quarantine``, ``healthy``, ``available``, ``ill``, ...),
  written by the lifecycle orchestrator.

The tutorial's schema is ``{message}``; ``stage`` and ``progress`` are added so a client can draw
a progress bar per item without parsing the message text.
"""

# Field names are the JSON wire names, camelCase as in Motia and the tutorial.
# ruff: noqa: N815

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from motia_runtime import FlowContext, StreamConfig


class PetCreationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(description="Human-readable text of this stage (the tutorial's wording)")
    stage: str = Field(description="Machine-readable stage, e.g. quarantine, health_check, progress_bio, transition")
    progress: int = Field(ge=0, le=100, description="How far this item's track is, 0-100")
    petId: str | None = Field(None, description="The pet this update is about")
    status: str | None = Field(None, description="The pet's lifecycle status when this was written")
    field: str | None = Field(None, description="The profile field of an enrichment progress item")
    value: str | list[str] | None = Field(None, description="The generated value of that profile field")


WATCHERS_GROUP = "pets"


async def count_watcher(subscription: dict[str, Any], auth_context: Any, ctx: FlowContext) -> None:
    """Join hook: one more client watches this pet (petWatchers, item = the pet's group)."""
    await ctx.streams.petWatchers.update(WATCHERS_GROUP, subscription["groupId"], [{"type": "increment", "path": "n"}])


async def uncount_watcher(subscription: dict[str, Any], auth_context: Any, ctx: FlowContext) -> None:
    """Leave hook: runs once for each subscription that goes (leave, close, AWS $disconnect or 410)."""
    await ctx.streams.petWatchers.update(WATCHERS_GROUP, subscription["groupId"], [{"type": "decrement", "path": "n"}])


config = StreamConfig(
    name="petCreation",
    schema=PetCreationUpdate,
    description="Live progress of a pet through the shelter: creation, quarantine, health check, AI profile, status",
    # The tutorial's clients subscribe without a token; a real shelter would hand each browser a
    # token for its pet's group instead (mint_stream_token, docs/auth.md) and drop this.
    public=True,
    on_join=count_watcher,
    on_leave=uncount_watcher,
)

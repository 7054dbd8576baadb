"""AI profile enrichment: stream the model's profile to the pet's group as each field completes.

The chat completion is requested with ``stream=True``; a ``JsonFieldWatcher`` spots each
top-level field of the JSON answer as soon as its value is complete and the step streams
``progress_<field>`` ("Generated bio for Buddy", with the value) at that moment, not after the
whole answer (the tutorial waited for the full reply, then replayed fixed 300 ms steps).

Without a key, on an API error, or when the answer is not a valid profile, the tutorial's
fallback profile is saved and streamed field by field the same way, ending with
"AI enrichment completed with fallback profile for {name}".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.pets import ai, enrichment
from functions.pets import events as ev
from functions.pets import messages as msg
from functions.pets.models import PROFILE_FIELDS, PetProfile, PetRef
from functions.pets.store import get_pet, save_profile
from functions.pets.streaming import field_pause, publish
from pydantic import ValidationError

from motia_runtime import EventConfig

config = EventConfig(
    name="AiProfileEnrichment",
    description="Agentic step: generate the pet's adoption profile with OpenAI, streaming each field",
    subscribes=[ev.PET_CREATED],
    input=PetRef,
    flows=[ev.FLOW],
    # A streamed completion can take a while; this is an event step, so API Gateway's 30 s does not apply.
    infrastructure={"handler": {"timeout": 120}},
)

if TYPE_CHECKING:
    from motia_types import AiProfileEnrichmentContext, AiProfileEnrichmentInput, Context



def _field_progress(done: int) -> int:
    return 20 * done  # four fields: 20, 40, 60, 80; "completed" is 100


async def _stream_field(ctx: Context, pet: dict[str, Any], field: str, value: Any, done: int) -> None:
    await publish(ctx, pet, msg.progress_item(field), msg.generated_field(field, pet["name"]),
                  msg.progress_item(field), _field_progress(done), field=field, value=enrichment.stream_value(value))


async def _from_model(ctx: Context, pet: dict[str, Any]) -> dict[str, Any]:
    """Stream the model's answer; returns the validated profile or raises."""
    watcher = ai.JsonFieldWatcher()
    streamed: list[str] = []
    async for piece in ai.stream_chat(enrichment.prompt(pet), max_tokens=enrichment.MAX_TOKENS,
                                      temperature=enrichment.TEMPERATURE):
        for field, value in watcher.feed(piece):
            if field in PROFILE_FIELDS and field not in streamed:
                streamed.append(field)
                await _stream_field(ctx, pet, field, value, len(streamed))
    profile = PetProfile.model_validate(ai.parse_json_object(watcher.text)).model_dump()
    for field in PROFILE_FIELDS:  # fields the watcher could not delimit (odd formatting) still get their stage
        if field not in streamed:
            streamed.append(field)
            await _stream_field(ctx, pet, field, profile[field], len(streamed))
    return profile


async def handler(input: AiProfileEnrichmentInput, ctx: AiProfileEnrichmentContext) -> None:
    pet = await get_pet(ctx, input["petId"])
    if pet is None:
        ctx.logger.error("❌ AI Profile Enrichment: pet not found", {"petId": input["petId"]})
        return
    name, species = pet["name"], pet["species"]
    ctx.logger.info("🤖 AI Profile Enrichment started", {"petId": pet["id"], "name": name, "species": species})
    await publish(ctx, pet, msg.ENRICHMENT_STARTED_ITEM, msg.enrichment_started(name), msg.ENRICHMENT_STARTED_ITEM, 0)

    try:
        profile = await _from_model(ctx, pet)
    except ai.AiUnavailableError as exc:
        ctx.logger.info("AI Profile Enrichment: no model configured, using the fallback profile",
                        {"petId": pet["id"], "reason": str(exc)})
        profile = None
        fallback = enrichment.error_fallback(name, species)
    except (ValueError, ValidationError) as exc:  # JSON or pydantic: the answer is not a profile
        ctx.logger.warn("⚠️ AI response parsing failed, using fallback profile",
                        {"petId": pet["id"], "parseError": str(exc)[:500]})
        profile = None
        fallback = enrichment.unparseable_fallback(name, species)
    except Exception as exc:  # openai.APIError, timeouts, network: never leave the pet without a profile
        ctx.logger.error("❌ AI Profile Enrichment failed",
                         {"petId": pet["id"], "error": f"{type(exc).__name__}: {exc}"})
        profile = None
        fallback = enrichment.error_fallback(name, species)

    if profile is not None:
        await save_profile(ctx, pet["id"], profile)
        ctx.logger.info("✅ AI Profile Enrichment completed", {"petId": pet["id"], "breedGuess": profile["breedGuess"],
                                                               "temperamentTags": profile["temperamentTags"]})
        await publish(ctx, pet, msg.ENRICHMENT_COMPLETED_ITEM, msg.enrichment_completed(name),
                      msg.ENRICHMENT_COMPLETED_ITEM, 100)
        return

    await save_profile(ctx, pet["id"], fallback)
    for done, field in enumerate(PROFILE_FIELDS, start=1):
        await field_pause()
        await _stream_field(ctx, pet, field, fallback[field], done)
    await publish(ctx, pet, msg.ENRICHMENT_COMPLETED_ITEM, msg.enrichment_completed_fallback(name),
                  msg.ENRICHMENT_COMPLETED_ITEM, 100)

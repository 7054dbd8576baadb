"""The review agents: a model picks one topic from an emit registry and says why.

Shared by ``HealthReviewAgent`` and ``AdoptionReviewAgent``. The model's JSON answer is
validated with pydantic and must name an emit of the registry; when there is no key, the API
fails or the answer does not fit, a deterministic rule decides instead and its rationale says so,
so the endpoint always answers. A decision is kept 60 s in state per pet and agent: a repeated
call for a pet in the same status returns it without emitting again (the tutorial's idempotency,
which it kept in process memory, lost on every Lambda cold start).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.pets import ai
from functions.pets import events as ev
from functions.pets.store import DECISIONS, get_pet, now_ms
from pydantic import BaseModel, Field

CACHE_MS = 60_000
# The whole model call, retries included, must end in time for the fallback to answer within
# API Gateway's 30 s (the handler's own timeout is 29 s).
DECISION_BUDGET_S = 20.0
MAX_TOKENS = 300
TEMPERATURE = 0.3
SYSTEM_PROMPT = (
    "You are a veterinary and pet adoption specialist agent. Choose exactly one emit from the options "
    "you are given and explain why. Answer with one JSON object only."
)


@dataclass(frozen=True)
class AgentEmit:
    id: str
    topic: str
    description: str
    effect: str
    guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agent:
    kind: str  # "health-review" | "adoption-review"
    title: str
    emits: tuple[AgentEmit, ...]
    allowed_statuses: tuple[str, ...]
    refusal: str
    task: str

    def emit_by_choice(self, choice: str) -> AgentEmit | None:
        """The registry entry a model named, by id (``emit.health.x``) or by topic (``health.x``)."""
        choice = choice.strip()
        return next((e for e in self.emits if choice in (e.id, e.topic)), None)


HEALTH_REVIEW = Agent(
    kind="health-review",
    title="Health review",
    emits=(
        AgentEmit("emit.health.treatment_required", ev.HEALTH_TREATMENT_REQUIRED,
                  "Pet requires medical treatment due to health concerns", "healthy → ill → under_treatment",
                  ("must_be_healthy",)),
        AgentEmit("emit.health.no_treatment_needed", ev.HEALTH_NO_TREATMENT_NEEDED,
                  "Pet is healthy and requires no medical intervention", "stay healthy", ("must_be_healthy",)),
    ),
    allowed_statuses=("healthy", "in_quarantine", "available"),
    refusal="Health review can only be performed on healthy, quarantined, or available pets",
    task="You are conducting a health review. Choose the emit that best matches the pet's health and needs.",
)

ADOPTION_REVIEW = Agent(
    kind="adoption-review",
    title="Adoption review",
    emits=(
        AgentEmit("emit.adoption.needs_data", ev.ADOPTION_NEEDS_DATA,
                  "Pet needs additional data before being available for adoption",
                  "add needs_data flag (blocks available)", ("must_be_healthy",)),
        AgentEmit("emit.adoption.ready", ev.ADOPTION_READY, "Pet is ready for adoption and can be made available",
                  "healthy → available (respect guards)", ("must_be_healthy", "no_needs_data_flag")),
    ),
    allowed_statuses=("healthy", "available"),
    refusal="Adoption review can only be performed on healthy or available pets",
    task=("You are conducting an adoption readiness review. Choose the emit that best matches the pet's "
          "readiness and how complete its profile is."),
)

if TYPE_CHECKING:
    from motia_types import Context

    from motia_runtime.typed import ApiResponseOf



class AgentDecision(BaseModel):
    """What the model must answer."""

    chosenEmit: str = Field(min_length=1)  # noqa: N815 - the JSON key the model answers
    rationale: str = Field(min_length=1, max_length=2000)


def context_of(pet: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "petId": pet["id"], "species": pet["species"], "ageMonths": pet["ageMonths"],
        "weightKg": pet.get("weightKg"), "symptoms": list(pet.get("symptoms") or []),
        "flags": list(pet.get("flags") or []), "profile": pet.get("profile"), "currentStatus": pet["status"],
    }


def prompt(agent: Agent, context: Mapping[str, Any]) -> list[ai.Message]:
    options = "\n".join(f"- {e.id}: {e.description} (effect: {e.effect})" for e in agent.emits)
    example = json.dumps({"chosenEmit": agent.emits[0].id, "rationale": "why this emit fits the pet"})
    user = (
        f"{agent.task}\n\nPet:\n{json.dumps(context, indent=2)}\n\nAvailable emits:\n{options}\n\n"
        f"Answer with JSON in exactly this shape:\n{example}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _profile_gaps(context: Mapping[str, Any]) -> list[str]:
    profile = context.get("profile") or {}
    return [f for f in ("bio", "breedGuess", "temperamentTags", "adopterHints") if not profile.get(f)]


def fallback_decision(agent: Agent, context: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """A rule-based decision, used whenever the model cannot decide."""
    prefix = f"Fallback decision (the AI model was not used: {reason})."
    if agent.kind == HEALTH_REVIEW.kind:
        symptoms: Sequence[str] = context.get("symptoms") or []
        if symptoms:
            chosen, why = "emit.health.treatment_required", f"symptoms reported: {', '.join(symptoms)}"
        else:
            chosen, why = "emit.health.no_treatment_needed", "no symptoms reported"
    else:
        gaps = _profile_gaps(context)
        if "needs_data" in (context.get("flags") or []):
            chosen, why = "emit.adoption.needs_data", "the pet is already flagged needs_data"
        elif gaps:
            chosen, why = "emit.adoption.needs_data", f"profile incomplete, missing: {', '.join(gaps)}"
        else:
            chosen, why = "emit.adoption.ready", "profile complete and no blocking flags"
    return {"chosenEmit": chosen, "rationale": f"{prefix} Rule: {why}.", "source": "fallback"}


async def decide(ctx: Context, agent: Agent, context: Mapping[str, Any]) -> dict[str, Any]:
    """Ask the model; on any failure, log why and return the fallback decision."""
    try:
        text = await asyncio.wait_for(
            ai.complete_json(prompt(agent, context), max_tokens=MAX_TOKENS, temperature=TEMPERATURE),
            DECISION_BUDGET_S,
        )
        decision = AgentDecision.model_validate(ai.parse_json_object(text))
        emit = agent.emit_by_choice(decision.chosenEmit)
        if emit is None:
            raise ValueError(f"the model chose {decision.chosenEmit!r}, which is not in the emit registry")
        return {"chosenEmit": emit.id, "rationale": decision.rationale, "source": "model", "model": ai.model_name()}
    except ai.AiUnavailableError as exc:
        reason = str(exc)
    except Exception as exc:  # openai.APIError, timeouts, JSON or pydantic errors: never fail the request
        reason = f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
        ctx.logger.warn(f"{agent.title}: model decision failed, using the fallback rule",
                        {"petId": context["petId"], "error": reason})
    return fallback_decision(agent, context, reason)


def _cache_key(agent: Agent, pet_id: str) -> str:
    return f"{pet_id}:{agent.kind}"


async def cached_decision(ctx: Context, agent: Agent, pet: Mapping[str, Any]) -> dict[str, Any] | None:
    """The decision made for this pet in its current status less than 60 s ago, if any."""
    entry = await ctx.state.get(DECISIONS, _cache_key(agent, pet["id"]))
    if not isinstance(entry, dict):
        return None
    fresh = now_ms() - int(entry.get("decidedAt", 0)) < CACHE_MS
    return entry if fresh and entry.get("status") == pet["status"] else None


async def review(req: Mapping[str, Any], ctx: Context, agent: Agent) -> ApiResponseOf:
    """The whole API handler of a review agent: look up, decide (or reuse), emit, answer."""
    pet_id = req["pathParams"]["id"]
    pet = await get_pet(ctx, pet_id)
    if pet is None:
        return {"status": 404, "body": {"error": "Pet not found", "petId": pet_id}}
    if pet["status"] not in agent.allowed_statuses:
        return {"status": 400, "body": {"error": agent.refusal, "petId": pet_id, "currentStatus": pet["status"]}}

    cached = await cached_decision(ctx, agent, pet)
    if cached is not None:
        ctx.logger.info(f"{agent.title}: returning the cached decision", {"petId": pet_id, **cached["decision"]})
        return {"status": 200, "body": {
            "message": f"{agent.title} completed (cached)", "petId": pet_id, "agentDecision": cached["decision"],
            "emitFired": cached["topic"], "cached": True, "decidedAt": cached["decidedAt"],
        }}

    context = context_of(pet)
    decision = await decide(ctx, agent, context)
    emit = agent.emit_by_choice(decision["chosenEmit"])
    assert emit is not None  # decide() only returns registry ids
    decided_at = now_ms()
    await ev.emit_for_pet(ctx, emit.topic, pet_id, {
        "event": emit.topic, "agentDecision": decision, "timestamp": decided_at, "context": context,
    })
    await ctx.state.set(DECISIONS, _cache_key(agent, pet_id), {
        "decision": decision, "topic": emit.topic, "status": pet["status"], "decidedAt": decided_at,
    })
    ctx.logger.info(f"{agent.title}: emit fired", {"petId": pet_id, "topic": emit.topic, **decision})
    return {"status": 200, "body": {
        "message": f"{agent.title} completed", "petId": pet_id, "agentDecision": decision, "emitFired": emit.topic,
        "cached": False, "decidedAt": decided_at, "availableEmits": [e.id for e in agent.emits],
    }}

"""``POST /pets/:id/adoption-review``: an agent decides whether the pet is ready for adoption.

The model picks ``adoption.ready`` or ``adoption.needs_data`` from the emit registry (with a
rationale); the orchestrator applies it. See ``functions.pets.agents``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets.agents import ADOPTION_REVIEW, review

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="AdoptionReviewAgent",
    description="Agent: review a pet's adoption readiness and emit the chosen adoption event",
    path="/pets/:id/adoption-review",
    method="POST",
    emits=[
        {"topic": ev.ADOPTION_READY, "label": "ready", "conditional": True},
        {"topic": ev.ADOPTION_NEEDS_DATA, "label": "needs data", "conditional": True},
    ],
    flows=[ev.FLOW],
    infrastructure={"handler": {"timeout": 29}},
)

if TYPE_CHECKING:
    from motia_types import AdoptionReviewAgentContext, AdoptionReviewAgentRequest, AdoptionReviewAgentResponse



async def handler(req: AdoptionReviewAgentRequest, ctx: AdoptionReviewAgentContext) -> AdoptionReviewAgentResponse:
    return await review(req, ctx, ADOPTION_REVIEW)

"""``POST /pets/:id/health-review``: an agent decides whether the pet needs treatment.

The model picks ``health.treatment_required`` or ``health.no_treatment_needed`` from the emit
registry (with a rationale); the orchestrator applies it. See ``functions.pets.agents``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import events as ev
from functions.pets.agents import HEALTH_REVIEW, review

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="HealthReviewAgent",
    description="Agent: review a pet's health and emit the chosen health event",
    path="/pets/:id/health-review",
    method="POST",
    emits=[
        {"topic": ev.HEALTH_TREATMENT_REQUIRED, "label": "treatment required", "conditional": True},
        {"topic": ev.HEALTH_NO_TREATMENT_NEEDED, "label": "no treatment needed", "conditional": True},
    ],
    flows=[ev.FLOW],
    # Under API Gateway's 30 s; the model call itself gives up after 20 s (functions.pets.ai).
    infrastructure={"handler": {"timeout": 29}},
)

if TYPE_CHECKING:
    from motia_types import HealthReviewAgentContext, HealthReviewAgentRequest, HealthReviewAgentResponse



async def handler(req: HealthReviewAgentRequest, ctx: HealthReviewAgentContext) -> HealthReviewAgentResponse:
    return await review(req, ctx, HEALTH_REVIEW)

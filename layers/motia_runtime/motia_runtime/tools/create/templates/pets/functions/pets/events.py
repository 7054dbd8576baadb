"""Topics of the pet shelter flow, and the one way its steps emit them.

Topics drop the tutorial's ``ts.`` prefix. Every pet event is emitted with the pet's id as
``messageGroupId``: the lifecycle orchestrator reads a FIFO queue, so the changes of one pet are
applied one at a time and in order (on AWS as locally), while different pets run in parallel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from motia_types import Context



FLOW = "pet-shelter"

PET_CREATED = "pet.created"
FEEDING_REMINDER_ENQUEUED = "feeding.reminder.enqueued"
FEEDING_REMINDER_COMPLETED = "feeding.reminder.completed"
PET_QUARANTINED = "pet.quarantined"
STATUS_UPDATE_REQUESTED = "pet.status.update.requested"
HEALTH_TREATMENT_REQUIRED = "health.treatment_required"
HEALTH_NO_TREATMENT_NEEDED = "health.no_treatment_needed"
ADOPTION_NEEDS_DATA = "adoption.needs_data"
ADOPTION_READY = "adoption.ready"
TREATMENT_REQUIRED = "treatment.required"
TREATMENT_STARTED = "treatment.started"
TREATMENT_COMPLETED = "treatment.completed"

# The orchestrator's rules are keyed by the ``event`` field of the data (as in the tutorial);
# it is the topic, except for staff status requests.
STATUS_UPDATE_EVENT = "status.update.requested"


async def emit_for_pet(ctx: Context, topic: str, pet_id: str, data: Mapping[str, Any] | None = None) -> None:
    """Emit ``{"petId": pet_id, **data}`` on ``topic``, ordered with the pet's other events."""
    await ctx.emit({"topic": topic, "data": {"petId": pet_id, **(data or {})}, "messageGroupId": pet_id})

"""The stream texts of the tutorial, word for word, and the stage/progress each one is sent with.

Clients and tests match these strings, so they live here once. ``progress`` is per item track:
the ``message`` item goes 10 → 40 → 70 → 100 through creation, quarantine, health check and
result; the enrichment items go 0 → 20/40/60/80 → 100.
"""

from __future__ import annotations

from collections.abc import Sequence

# -- the ``message`` item: creation and the feeding reminder job ----------------------------------
MESSAGE_ITEM = "message"

CREATED = ("created", 10)
QUARANTINE = ("quarantine", 40)
HEALTH_CHECK = ("health_check", 70)
HEALTH_RESULT = ("health_result", 100)


def created(name: str, pet_id: str, species: str, age_months: int, status: str) -> str:
    return (f"Pet {name} (ID: {pet_id}) created successfully - Species: {species}, "
            f"Age: {age_months} months, Status: {status}")


def entered_quarantine(name: str) -> str:
    return f"Pet {name} entered quarantine period"


def health_check_passed(name: str) -> str:
    return f"Health check passed for {name} - no symptoms found"


def healthy_and_ready(name: str) -> str:
    return f"{name} is healthy and ready for adoption! ✅"


def health_check_failed(name: str, symptoms: Sequence[str]) -> str:
    return f"Health check failed for {name} - symptoms detected: {', '.join(symptoms)}"


def needs_treatment(name: str) -> str:
    return f"{name} needs medical treatment ❌"


# -- the AI profile enrichment items --------------------------------------------------------------
ENRICHMENT_STARTED_ITEM = "enrichment_started"
ENRICHMENT_COMPLETED_ITEM = "completed"


def progress_item(field: str) -> str:
    return f"progress_{field}"


def enrichment_started(name: str) -> str:
    return f"AI enrichment started for {name}"


def generated_field(field: str, name: str) -> str:
    return f"Generated {field} for {name}"


def enrichment_completed(name: str) -> str:
    return f"AI enrichment completed for {name}"


def enrichment_completed_fallback(name: str) -> str:
    return f"AI enrichment completed with fallback profile for {name}"


# -- the lifecycle orchestrator: one item per status reached ----------------------------------------
def status_transition(old: str, new: str, description: str) -> str:
    return f"Status transition: {old} → {new} - {description}"


def automatic_transition(old: str, new: str, description: str) -> str:
    return f"Automatic: {old} → {new} - {description}"


def flag_added(flag: str, description: str) -> str:
    return f"Flag added: {flag} - {description}"

"""Plans the log-only care steps compute: treatment schedule, recovery plan, adoption posting.

The numbers and labels are the tutorial's; nothing here touches state or the stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

HOUR_MS = 60 * 60 * 1000
URGENT_SYMPTOMS = ("bleeding", "severe pain", "breathing difficulty", "unconscious")


def is_urgent(symptoms: Sequence[str]) -> bool:
    return any(urgent in s.lower() for s in symptoms for urgent in URGENT_SYMPTOMS)


def treatment_type(symptoms: Sequence[str]) -> str:
    text = " ".join(symptoms).lower()
    for word, kind in (("bleeding", "Emergency Surgery"), ("breathing", "Respiratory Treatment"),
                       ("pain", "Pain Management"), ("infection", "Antibiotic Treatment"),
                       ("fever", "Fever Management")):
        if word in text:
            return kind
    return "General Medical Examination"


def medication(symptoms: Sequence[str]) -> list[str]:
    text = " ".join(symptoms).lower()
    table = (("pain", "Pain Relief (Ibuprofen)"), ("infection", "Antibiotics (Amoxicillin)"),
             ("fever", "Fever Reducer (Acetaminophen)"), ("anxiety", "Anti-anxiety (Diazepam)"))
    return [med for word, med in table if word in text]


def treatment_schedule(pet_id: str, symptoms: Sequence[str], now: int) -> dict[str, Any]:
    urgent = is_urgent(symptoms)
    return {
        "petId": pet_id,
        "urgency": "urgent" if urgent else "normal",
        "scheduledAt": now + (2 if urgent else 24) * HOUR_MS,
        "treatmentType": treatment_type(symptoms),
        "estimatedDuration": "2-4 hours" if urgent else "1-2 hours",
        "requiredStaff": ["veterinarian", "nurse"] if urgent else ["veterinarian"],
        "medication": medication(symptoms),
    }


_RECOVERY_TIME = {"emergency surgery": "2-4 weeks", "respiratory treatment": "1-2 weeks",
                  "pain management": "3-7 days", "antibiotic treatment": "7-14 days", "fever management": "3-5 days"}


def recovery_plan(pet_id: str, treatment: str, now: int) -> dict[str, Any]:
    milestones = [(1, "Initial treatment response"), (3, "Pain management effectiveness"),
                  (7, "Primary healing indicators"), (14, "Full recovery assessment")]
    if "surgery" in treatment.lower():
        milestones += [(2, "Incision healing check"), (10, "Stitch removal readiness")]
    return {
        "petId": pet_id, "treatmentType": treatment, "startedAt": now,
        "expectedRecoveryTime": _RECOVERY_TIME.get(treatment.lower(), "1-2 weeks"),
        "milestones": [{"day": d, "milestone": m, "status": "pending"} for d, m in sorted(milestones)],
        "currentPhase": "initial_treatment",
    }


def follow_up_schedule(pet_id: str, now: int) -> dict[str, Any]:
    return {
        "petId": pet_id, "treatmentCompletedAt": now,
        "followUpChecks": [{"type": "immediate", "scheduledAt": now + 2 * HOUR_MS},
                           {"type": "daily", "scheduledAt": now + 24 * HOUR_MS},
                           {"type": "weekly", "scheduledAt": now + 7 * 24 * HOUR_MS}],
        "readyForDischarge": False,
    }


def adoption_fee(pet: Mapping[str, Any]) -> int:
    breed = ((pet.get("profile") or {}).get("breedGuess")) or ""
    return 150 + (50 if pet.get("ageMonths", 0) < 12 else 0) + (100 if "Purebred" in breed else 0)


def adoption_posting(pet: Mapping[str, Any], now: int) -> dict[str, Any]:
    profile = pet.get("profile") or {}
    tags = profile.get("temperamentTags") or []
    requirements = ["Must be 21 years or older", "Valid photo ID required", "Proof of current address",
                    "Landlord approval (if renting)", "Reference from current veterinarian"]
    if "high_energy" in tags:
        requirements.append("Active lifestyle recommended")
    if "needs_experience" in tags:
        requirements.append("Previous pet ownership experience preferred")
    if "special_needs" in (pet.get("flags") or []):
        requirements.append("Special care experience required")
    return {
        "petId": pet["id"], "postedAt": now,
        "title": f"{pet['name']} - {profile.get('breedGuess') or pet['species']} Available for Adoption",
        "description": profile.get("bio")
        or f"Meet {pet['name']}, a lovely {pet['species']} looking for a forever home.",
        "breed": profile.get("breedGuess") or "Mixed Breed", "temperament": tags,
        "adoptionFee": adoption_fee(pet), "requirements": requirements,
    }

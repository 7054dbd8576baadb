"""Pydantic models of the pet shelter: request bodies, the AI profile, event payloads."""

# Field names are the JSON wire names, camelCase as in Motia and the tutorial.
# ruff: noqa: N815

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

Species = Literal["dog", "cat", "bird", "other"]
PetStatus = Literal[
    "new", "in_quarantine", "healthy", "available", "pending", "adopted", "ill", "under_treatment", "recovered",
    "deleted",
]
PROFILE_FIELDS = ("bio", "breedGuess", "temperamentTags", "adopterHints")


class NewPet(BaseModel):
    """``POST /pets`` body. Unknown fields are refused so a typo (``agemonths``) is reported, not lost."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, description="The pet's name")
    species: Species
    # Strict: "12" is a client bug, not twelve months (the tutorial's zod schema refuses it too).
    ageMonths: StrictInt = Field(ge=0, le=600, description="Age in whole months")
    weightKg: float | None = Field(None, gt=0, le=1000, strict=True)
    symptoms: list[str] = Field(default_factory=list, max_length=20, description="Observed symptoms, if any")

    @field_validator("symptoms")
    @classmethod
    def _clean_symptoms(cls, value: list[str]) -> list[str]:
        return [s.strip() for s in value if s.strip()]


class PetPatch(BaseModel):
    """``PUT /pets/:id`` body: every field optional; ``status`` goes through the orchestrator."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=100)
    species: Species | None = None
    ageMonths: StrictInt | None = Field(None, ge=0, le=600)
    weightKg: float | None = Field(None, gt=0, le=1000, strict=True)
    notes: str | None = Field(None, max_length=2000)
    nextFeedingAt: StrictInt | None = Field(None, ge=0, description="Epoch milliseconds")
    status: PetStatus | None = None


class PetProfile(BaseModel):
    """What the AI enrichment must produce; model output that does not fit is replaced by a fallback."""

    bio: str = Field(min_length=1, max_length=2000)
    breedGuess: str = Field(min_length=1, max_length=200)
    temperamentTags: list[str] = Field(min_length=1, max_length=10)
    adopterHints: str = Field(min_length=1, max_length=2000)

    @field_validator("adopterHints", mode="before")
    @classmethod
    def _join_hints(cls, value: Any) -> Any:
        # Models often answer a list of hints; the tutorial's type is one string.
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return " ".join(value)
        return value


class PetRef(BaseModel):
    """The part every pet event carries; the rest depends on the topic."""

    model_config = ConfigDict(extra="allow")

    petId: str = Field(min_length=1)


LifecycleEvent = Literal[
    "feeding.reminder.completed",
    "status.update.requested",
    "health.treatment_required",
    "health.no_treatment_needed",
    "adoption.needs_data",
    "adoption.ready",
]


class LifecycleInput(PetRef):
    """What the orchestrator receives on any of its topics: ``event`` names the rule set to use."""

    event: LifecycleEvent
    requestedStatus: PetStatus | None = None


class FeedingJobInput(PetRef):
    """The feeding reminder job's two triggers: the creation, then the orchestrator's quarantine."""

    event: Literal["feeding.reminder.enqueued", "pet.quarantined"]

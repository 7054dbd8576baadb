"""The AI profile: the prompt sent to the model and the tutorial's two fallback profiles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.pets.ai import Message

SYSTEM_PROMPT = (
    "You are a pet adoption specialist who writes warm, accurate adoption profiles. "
    "Answer with one JSON object only, no prose and no Markdown."
)
MAX_TOKENS = 500
TEMPERATURE = 0.7


def prompt(pet: Mapping[str, Any]) -> list[Message]:
    details = [f"- Name: {pet['name']}", f"- Species: {pet['species']}", f"- Age: {pet['ageMonths']} months"]
    if pet.get("weightKg"):
        details.append(f"- Weight: {pet['weightKg']} kg")
    user = (
        "Write an adoption profile for this pet:\n" + "\n".join(details) + "\n\n"
        "Reply with a JSON object with exactly these fields, in this order:\n"
        '- "bio": two or three warm sentences that would appeal to adopters\n'
        '- "breedGuess": your best realistic guess at the breed or mix\n'
        '- "temperamentTags": an array of 3 to 5 short personality traits, such as "friendly" or "calm"\n'
        '- "adopterHints": one paragraph of practical advice for adopters (household, space, care needs)\n'
        "Keep it positive, realistic and focused on adoption."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _breed(species: str) -> str:
    return "Domestic Shorthair" if species == "cat" else "Mixed Breed"


def unparseable_fallback(name: str, species: str) -> dict[str, Any]:
    """The tutorial's profile when the model answered something that is not a valid profile."""
    return {
        "bio": (f"{name} is a wonderful {species} looking for a loving home. "
                "This pet has a unique personality and would make a great companion."),
        "breedGuess": _breed(species),
        "temperamentTags": ["friendly", "loving", "loyal"],
        "adopterHints": f"{name} would do well in a caring home with patience and love.",
    }


def error_fallback(name: str, species: str) -> dict[str, Any]:
    """The tutorial's profile when the model could not be asked (no key, API or network error)."""
    return {
        "bio": f"{name} is a lovely {species} with a unique personality, ready to find their forever home.",
        "breedGuess": _breed(species),
        "temperamentTags": ["friendly", "adaptable"],
        "adopterHints": f"{name} is looking for a patient and loving family.",
    }


def stream_value(value: Any) -> str | list[str] | None:
    """A profile field's value in the shape the stream schema takes (str or list of str)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(v) for v in value]
    return str(value)

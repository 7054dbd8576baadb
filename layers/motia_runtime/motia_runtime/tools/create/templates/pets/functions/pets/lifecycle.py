"""The pet lifecycle as data: transition rules, guards, automatic progressions and side emits.

This is the tutorial's ``TRANSITION_RULES`` table (§7 of the research notes), kept as it is; the
orchestrator step applies it. Pure functions only, so the rules can be read and tested alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from functions.pets import events as ev

STATUS = ev.STATUS_UPDATE_EVENT


@dataclass(frozen=True)
class Rule:
    event: str
    sources: frozenset[str]
    to: str
    description: str
    guards: tuple[str, ...] = ()
    add_flag: str | None = None


def _rule(event: str, sources: tuple[str, ...], to: str, description: str, **kw: Any) -> Rule:
    return Rule(event, frozenset(sources), to, description, **kw)


RULES: tuple[Rule, ...] = (
    _rule(ev.FEEDING_REMINDER_COMPLETED, ("new",), "in_quarantine", "Pet moved to quarantine after feeding setup"),
    # Staff requests (PUT /pets/:id with a new status), also used by the automatic progressions.
    _rule(STATUS, ("in_quarantine",), "healthy", "Staff health check - pet cleared from quarantine"),
    _rule(STATUS, ("healthy", "in_quarantine", "available"), "ill", "Staff assessment - pet identified as ill"),
    _rule(STATUS, ("healthy",), "available", "Staff decision - pet ready for adoption"),
    _rule(STATUS, ("ill",), "under_treatment", "Staff decision - treatment started"),
    _rule(STATUS, ("under_treatment", "ill"), "recovered", "Staff assessment - treatment completed"),
    _rule(STATUS, ("recovered", "new"), "healthy", "Staff clearance - pet fully recovered"),
    _rule(STATUS, ("available",), "pending", "Adoption application received"),
    _rule(STATUS, ("pending",), "adopted", "Adoption completed"),
    _rule(STATUS, ("pending",), "available", "Adoption application rejected/cancelled"),
    # Agent decisions.
    _rule(ev.HEALTH_TREATMENT_REQUIRED, ("healthy", "in_quarantine"), "ill",
          "Agent assessment - pet requires medical treatment"),
    _rule(ev.HEALTH_NO_TREATMENT_NEEDED, ("healthy", "in_quarantine"), "healthy",
          "Agent assessment - pet remains healthy"),
    _rule(ev.ADOPTION_NEEDS_DATA, ("healthy",), "healthy",
          "Agent assessment - pet needs additional data before adoption", add_flag="needs_data"),
    _rule(ev.ADOPTION_READY, ("healthy",), "available", "Agent assessment - pet ready for adoption",
          guards=("must_be_healthy", "no_needs_data_flag")),
)

# After reaching the key status, the orchestrator moves on at once (chained: recovered → healthy
# → available), through the staff rule to the target so that rule's guards apply.
AUTOMATIC: Mapping[str, tuple[str, str]] = {
    "healthy": ("available", "Automatic progression - pet ready for adoption"),
    "ill": ("under_treatment", "Automatic progression - treatment started"),
    "recovered": ("healthy", "Automatic progression - recovery complete"),
}

# Transitions that start other work. ``new → in_quarantine`` starting the health check is ours:
# the tutorial's job set the status itself, so that rule never fired (see the job step).
SIDE_EMITS: Mapping[tuple[str, str], str] = {
    ("new", "in_quarantine"): ev.PET_QUARANTINED,
    ("ill", "under_treatment"): ev.TREATMENT_REQUIRED,
    ("healthy", "available"): ev.ADOPTION_READY,
    ("under_treatment", "recovered"): ev.TREATMENT_COMPLETED,
}


def _must_be_healthy(pet: Mapping[str, Any]) -> str | None:
    status = pet.get("status")
    return None if status == "healthy" else f"Pet must be healthy (current: {status})"


def _no_needs_data_flag(pet: Mapping[str, Any]) -> str | None:
    return "Pet has needs_data flag blocking adoption" if "needs_data" in (pet.get("flags") or []) else None


GUARDS: Mapping[str, Callable[[Mapping[str, Any]], str | None]] = {
    "must_be_healthy": _must_be_healthy,
    "no_needs_data_flag": _no_needs_data_flag,
}


def find_rule(event: str, status: str, requested: str | None = None) -> Rule | None:
    """The rule for ``event`` from ``status``; staff requests also match on the requested status."""
    for rule in RULES:
        if rule.event != event or status not in rule.sources:
            continue
        if event == STATUS and rule.to != requested:
            continue
        return rule
    return None


def staff_targets(status: str) -> list[str]:
    """The statuses a staff request (``PUT /pets/:id``) may ask for from ``status``."""
    return sorted({rule.to for rule in RULES if rule.event == STATUS and status in rule.sources})


def already_there(event: str, status: str, requested: str | None = None) -> bool:
    """True when the pet already is where ``event`` would take it (a repeated or late event).

    The orchestrator receives its own ``adoption.ready`` side emit after ``healthy → available``:
    that is not a rejected transition, just nothing left to do.
    """
    if event == STATUS:
        return requested == status
    return any(rule.event == event and rule.to == status for rule in RULES)


def blocked_by(pet: Mapping[str, Any], guards: tuple[str, ...]) -> str | None:
    """The reason the first failing guard gives, or None when every guard passes."""
    for name in guards:
        check = GUARDS.get(name)
        reason = f"Unknown guard: {name}" if check is None else check(pet)
        if reason:
            return reason
    return None


def automatic_next(status: str) -> tuple[Rule, str] | None:
    """The rule and description of the automatic progression from ``status``, if there is one."""
    step = AUTOMATIC.get(status)
    if step is None:
        return None
    rule = find_rule(STATUS, status, step[0])
    return (rule, step[1]) if rule is not None else None

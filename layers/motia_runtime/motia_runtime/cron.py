"""Cron expressions: Motia's 5-field form (an optional leading seconds field is accepted)."""

from __future__ import annotations

from datetime import datetime


def _fields(expression: str) -> list[str]:
    return expression.split()


def validate_cron(expression: str) -> None:
    """Raise ValueError naming what is wrong with a cron expression."""
    from croniter import croniter  # lazy: Lambda entry points never schedule

    fields = _fields(expression)
    if len(fields) not in (5, 6):
        raise ValueError(f"cron {expression!r} must have 5 fields (minute hour day month weekday), got {len(fields)}")
    if not croniter.is_valid(expression, second_at_beginning=len(fields) == 6):
        raise ValueError(f"cron {expression!r} is not a valid cron expression")


def next_run(expression: str, after: datetime) -> datetime:
    from croniter import croniter

    fields = _fields(expression)
    it = croniter(expression, after, second_at_beginning=len(fields) == 6)
    result: datetime = it.get_next(datetime)
    return result

"""Cron expressions: Motia's 5-field form (an optional leading seconds field is accepted)."""

from __future__ import annotations

import re
from datetime import datetime

# Minute, hour, day of month, month, day of week (0-6; 7, names and the rest go to croniter).
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_ITEM = re.compile(r"(?:\*|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?")


def _fields(expression: str) -> list[str]:
    return expression.split()


def _plainly_valid(fields: list[str]) -> bool:
    """True for fields made only of ``*``, numbers, ranges, steps and lists within bounds: a subset of
    what croniter accepts, checked without importing it (croniter and dateutil were ~4% of a Lambda
    cold start, and every function of a project with a cron step validates it; bench/RESULTS.md).
    False means "ask croniter", not "invalid"."""
    bounds = ((0, 59), *_BOUNDS) if len(fields) == 6 else _BOUNDS
    for field, (low, high) in zip(fields, bounds, strict=True):
        for item in field.split(","):
            match = _ITEM.fullmatch(item)
            if match is None:
                return False
            first, last, step = match.groups()
            if first is not None and not low <= int(first) <= int(last or first) <= high:
                return False
            if step is not None and not 1 <= int(step) <= high - low + 1:
                return False
    return True


def validate_cron(expression: str) -> None:
    """Raise ValueError naming what is wrong with a cron expression."""
    fields = _fields(expression)
    if len(fields) not in (5, 6):
        raise ValueError(f"cron {expression!r} must have 5 fields (minute hour day month weekday), got {len(fields)}")
    if _plainly_valid(fields):
        return
    from croniter import croniter  # lazy: Lambda entry points never schedule

    if not croniter.is_valid(expression, second_at_beginning=len(fields) == 6):
        raise ValueError(f"cron {expression!r} is not a valid cron expression")


def next_run(expression: str, after: datetime) -> datetime:
    from croniter import croniter

    fields = _fields(expression)
    it = croniter(expression, after, second_at_beginning=len(fields) == 6)
    result: datetime = it.get_next(datetime)
    return result

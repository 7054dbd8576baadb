"""Motia cron (5 fields, or 6 with leading seconds) to an EventBridge ``cron(...)`` expression.

EventBridge's cron has six fields ``minute hour day-of-month month day-of-week year`` and
differs from Unix cron in ways that silently change a schedule if copied verbatim:

* one of day-of-month / day-of-week must be ``?``. Unix cron ORs the two fields when both are
  restricted ("the 1st, or any Monday"); EventBridge cannot express that, so we refuse it;
* day-of-week is numbered 1-7 = SUN-SAT (Unix: 0-7, both 0 and 7 are Sunday). We always write
  day names, which mean the same thing to both, and expand steps/ranges into them;
* there is no seconds field: a leading seconds field is accepted only when it is 0;
* ``*/n`` is written as ``start/n`` (the form the EventBridge docs use) and ``a-b/n`` is expanded
  into a list, since the docs only promise ``start/increment``.

Schedules run in UTC on AWS.
"""

from __future__ import annotations

import re

from ...errors import MotiaError

DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

# (minimum, maximum) of each field Unix cron allows.
_BOUNDS = {"minute": (0, 59), "hour": (0, 23), "day-of-month": (1, 31), "month": (1, 12)}
_UNRESTRICTED = ("*", "?")


class CronConversionError(MotiaError, ValueError):
    """The expression is valid cron but EventBridge cannot run it as written (a ValueError too, as it
    was before it joined the one tree: callers catch it as one)."""


def to_aws_cron(expression: str) -> str:
    """Return ``cron(min hour dom month dow *)`` for a Motia cron expression, or raise."""
    fields = expression.split()
    if len(fields) == 6:
        seconds, fields = fields[0], fields[1:]
        if not re.fullmatch(r"0+", seconds):
            raise CronConversionError(
                f"cron {expression!r}: EventBridge schedules have one-minute resolution, so the seconds "
                f"field must be 0 (got {seconds!r})"
            )
    if len(fields) != 5:
        raise CronConversionError(f"cron {expression!r} must have 5 fields (minute hour day month weekday)")
    minute, hour, dom, month, dow = fields
    minute = _numeric(minute, "minute")
    hour = _numeric(hour, "hour")
    month = _numeric(_month_names(month), "month")
    days = _weekdays(dow)
    if days is None:
        aws_dom, aws_dow = ("*" if dom in _UNRESTRICTED else _day_of_month(dom)), "?"
    elif dom in _UNRESTRICTED:
        aws_dom, aws_dow = "?", days
    else:
        raise CronConversionError(
            f"cron {expression!r}: Unix cron runs when day-of-month OR day-of-week matches, and EventBridge "
            "cannot express that (one of the two must be '?'); split it into two cron steps"
        )
    return f"cron({minute} {hour} {aws_dom} {month} {aws_dow} *)"


def _numeric(field: str, name: str) -> str:
    if not re.fullmatch(r"[0-9*,/\-]+", field):
        raise CronConversionError(f"{name} field {field!r}: EventBridge accepts only digits and * , - /")
    low, high = _BOUNDS[name]
    return ",".join(_numeric_part(part, low, high, name) for part in field.split(","))


def _numeric_part(part: str, low: int, high: int, name: str) -> str:
    if "/" not in part:
        return part
    base, step = part.split("/", 1)
    if base == "*":
        return f"{low}/{step}"
    if "-" in base:  # a-b/n: expand, EventBridge only documents start/increment
        first, last = (int(x) for x in base.split("-", 1))
        return ",".join(str(v) for v in range(first, last + 1, int(step)))
    if not base.isdigit():
        raise CronConversionError(f"{name} field {part!r} is not understood")
    return part


def _month_names(field: str) -> str:
    upper = field.upper()
    for number, month in enumerate(_MONTHS, start=1):
        upper = upper.replace(month, str(number))
    return upper


def _day_of_month(field: str) -> str:
    if field.upper() == "L":
        return "L"  # last day of the month: same in both dialects
    return _numeric(field, "day-of-month")


def _weekdays(field: str) -> str | None:
    """The day-of-week field in EventBridge's form, or None when it does not restrict the days."""
    if field in _UNRESTRICTED:
        return None
    upper = field.upper()
    if "#" in upper:
        return _nth_weekday(upper)
    if "L" in re.sub("|".join(DAY_NAMES), "", upper):
        raise CronConversionError(f"day-of-week {field!r}: 'L' (last weekday of the month) is not supported")
    days: set[int] = set()
    for part in upper.split(","):
        days |= _weekday_part(part, field)
    if days == set(range(7)):
        return None
    return _compact(sorted(days))


def _day_number(token: str, field: str) -> int:
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    if not token.isdigit() or int(token) > 7:
        raise CronConversionError(f"day-of-week {field!r}: {token!r} is not a day (0-7 or SUN-SAT)")
    return int(token) % 7  # Unix cron: 0 and 7 are both Sunday


def _weekday_part(part: str, field: str) -> set[int]:
    base, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise CronConversionError(f"day-of-week {field!r}: a step must be at least 1")
    if base == "*":
        first, last = 0, 6
    elif "-" in base:
        start, end = base.split("-", 1)
        first, last = _day_number(start, field), int(end) if end == "7" else _day_number(end, field)
        if last < first:
            raise CronConversionError(f"day-of-week {field!r}: a range must not wrap around the week")
    else:
        first = _day_number(base, field)
        last = 6 if step_text else first
    return {d % 7 for d in range(first, last + 1, step)}


def _nth_weekday(field: str) -> str:
    # "FRI#3" = the third Friday. EventBridge documents only the numeric form (1-7 = SUN-SAT).
    day, _, nth = field.partition("#")
    if "," in field or not nth.isdigit() or not 1 <= int(nth) <= 5:
        raise CronConversionError(f"day-of-week {field!r}: '#' takes one day and a week number 1-5")
    return f"{_day_number(day, field) + 1}#{nth}"


def _compact(days: list[int]) -> str:
    """Days 0-6 as names, runs of three or more as ranges: [1,2,3,4,5] -> MON-FRI."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ",".join(parts)

"""Motia (Unix) cron -> EventBridge cron(...): the conversions that change meaning if copied."""

from __future__ import annotations

import pytest

from motia_runtime.tools.template import CronConversionError, to_aws_cron


@pytest.mark.parametrize(
    ("motia", "aws"),
    [
        # Both day fields free: EventBridge still needs one of them to be '?'.
        ("0 2 * * *", "cron(0 2 * * ? *)"),
        ("*/5 * * * *", "cron(0/5 * * * ? *)"),
        ("15 */6 * * *", "cron(15 0/6 * * ? *)"),
        # Day of month restricted: day of week becomes '?'.
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("0 0 */2 * *", "cron(0 0 1/2 * ? *)"),
        ("0 0 L * *", "cron(0 0 L * ? *)"),
        # Day of week restricted: day of month becomes '?' and days are written as names,
        # because Unix numbers them 0-7 (0 and 7 = SUN) and EventBridge 1-7 (1 = SUN).
        ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"),
        ("0 0 * * 0", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 7", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 6", "cron(0 0 ? * SAT *)"),
        ("0 12 * * 1,3,5", "cron(0 12 ? * MON,WED,FRI *)"),
        ("0 0 * * 5-7", "cron(0 0 ? * SUN,FRI,SAT *)"),
        ("0 0 * * */2", "cron(0 0 ? * SUN,TUE,THU,SAT *)"),
        ("0 0 * * sat,sun", "cron(0 0 ? * SUN,SAT *)"),
        ("0 0 * * 1-7", "cron(0 0 * * ? *)"),  # every day is no restriction
        ("0 0 * * fri#3", "cron(0 0 ? * 6#3 *)"),  # third Friday, EventBridge's numbering
        ("0 0 * * 1#1", "cron(0 0 ? * 2#1 *)"),
        # Months by name, ranges with steps expanded, a zero seconds field dropped.
        ("0 0 * jan-mar mon", "cron(0 0 ? 1-3 MON *)"),
        ("0-30/10 * * * *", "cron(0,10,20,30 * * * ? *)"),
        ("0 0 0 * * *", "cron(0 0 * * ? *)"),
    ],
)
def test_converts(motia: str, aws: str) -> None:
    assert to_aws_cron(motia) == aws


@pytest.mark.parametrize(
    ("motia", "reason"),
    [
        ("30 0 0 * * *", "one-minute resolution"),  # seconds other than 0
        ("0 0 1 * 1", "OR"),  # Unix ORs both day fields; EventBridge cannot
        ("0 0 * * 5L", "'L'"),
        ("0 0 * * 5-1", "wrap"),
        ("0 0 * * 9", "not a day"),
        ("0 0 * * 1#6", "week number"),
        ("0 0 * *", "5 fields"),
    ],
)
def test_refuses_what_eventbridge_cannot_run(motia: str, reason: str) -> None:
    with pytest.raises(CronConversionError, match=reason):
        to_aws_cron(motia)

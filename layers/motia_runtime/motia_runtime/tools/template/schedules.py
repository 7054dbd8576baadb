"""Cron steps: an EventBridge schedule rule (default bus) invoking the step's function.

An explicit rule, rather than SAM's ``Schedule`` event, so the schedule is a resource of its
own that carries the step's ``Metadata.Motia`` (the harness finds it by role ``schedule``).
"""

from __future__ import annotations

from typing import Any

from ...config import CronConfig
from ...errors import ConfigError
from ...project import Step
from .cron import to_aws_cron
from .names import get_att, ref, step_metadata


def schedule_ids(base: str) -> tuple[str, str]:
    return f"{base}Schedule", f"{base}SchedulePermission"


def cron_step_resources(step: Step, base: str, function_id: str, rel: str) -> dict[str, dict[str, Any]]:
    config = step.config
    assert isinstance(config, CronConfig)
    try:
        expression = to_aws_cron(config.cron)
    except ValueError as exc:
        raise ConfigError(str(exc), file=rel, field="cron") from None
    schedule_id, permission_id = schedule_ids(base)
    return {
        schedule_id: {
            "Type": "AWS::Events::Rule",
            "Metadata": step_metadata(config.name, "schedule"),
            "Properties": {
                # Scheduled rules only run on the default bus, so no EventBusName here.
                "Description": f"Motia cron {config.cron!r} (UTC) -> {config.name}"[:512],
                "ScheduleExpression": expression,
                "State": "ENABLED",
                "Targets": [{"Id": "StepFunction", "Arn": get_att(function_id, "Arn")}],
            },
        },
        permission_id: {
            "Type": "AWS::Lambda::Permission",
            "Metadata": step_metadata(config.name, "schedule-permission"),
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": ref(function_id),
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att(schedule_id, "Arn"),
            },
        },
    }

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
from .queues import DLQ_RETENTION, RULE_MAX_AGE, RULE_MAX_RETRIES


def schedule_ids(base: str) -> tuple[str, str]:
    return f"{base}Schedule", f"{base}SchedulePermission"


def schedule_dlq_ids(base: str) -> tuple[str, str]:
    """The queue a schedule's undeliverable runs land in, and the policy letting its rule send there."""
    return f"{base}ScheduleDeadLetterQueue", f"{base}ScheduleQueuePolicy"


def cron_step_resources(step: Step, base: str, function_id: str, rel: str) -> dict[str, dict[str, Any]]:
    config = step.config
    assert isinstance(config, CronConfig)
    try:
        expression = to_aws_cron(config.cron)
    except ValueError as exc:
        raise ConfigError(str(exc), file=rel, field="cron") from None
    schedule_id, permission_id = schedule_ids(base)
    dlq_id, policy_id = schedule_dlq_ids(base)
    return {
        schedule_id: {
            "Type": "AWS::Events::Rule",
            "Metadata": step_metadata(config.name, "schedule"),
            "Properties": {
                # Scheduled rules only run on the default bus, so no EventBusName here.
                "Description": f"Motia cron {config.cron!r} (UTC) -> {config.name}"[:512],
                "ScheduleExpression": expression,
                "State": "ENABLED",
                # A run EventBridge cannot hand to the function (throttled past the retries, the
                # permission gone) lands in the schedule's DLQ instead of vanishing; so does a run
                # Lambda fails (a timeout, a crash), not retried (the function's EventInvokeConfig,
                # functions.py); a failure of the step itself is logged, not retried (schedule.py).
                "Targets": [{
                    "Id": "StepFunction", "Arn": get_att(function_id, "Arn"),
                    "DeadLetterConfig": {"Arn": get_att(dlq_id, "Arn")},
                    "RetryPolicy": {"MaximumRetryAttempts": RULE_MAX_RETRIES, "MaximumEventAgeInSeconds": RULE_MAX_AGE},
                }],
            },
        },
        dlq_id: {
            "Type": "AWS::SQS::Queue",
            "Metadata": step_metadata(config.name, "schedule-dlq"),
            "Properties": {"MessageRetentionPeriod": DLQ_RETENTION},
        },
        policy_id: {
            "Type": "AWS::SQS::QueuePolicy",
            "Metadata": step_metadata(config.name, "schedule-queue-policy"),
            "Properties": {
                "Queues": [ref(dlq_id)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "AllowTheSchedule",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": get_att(dlq_id, "Arn"),
                        # Only this step's schedule may send, not any rule in any account.
                        "Condition": {"ArnEquals": {"aws:SourceArn": get_att(schedule_id, "Arn")}},
                    }],
                },
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

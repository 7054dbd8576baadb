"""Delivery of emitted events to event steps: SQS queues, dead-letter queues, EventBridge rules.

Standard steps: bus rule (source ``motia``, detail-type in ``subscribes``) -> the step's queue ->
its function. FIFO steps get a FIFO queue and *no* rule: an EventBridge SQS target takes one fixed
``MessageGroupId`` (``SqsParameters``), which would serialise every event of the step into one
group, while Motia's ordering key comes with each emit (``messageGroupId``). So emitters send to
FIFO queues themselves (``MOTIA_FIFO_QUEUES`` + ``sqs:SendMessage`` on exactly those queues).
"""

from __future__ import annotations

from typing import Any

from ...config import EventConfig
from ...errors import ConfigError
from ...project import Project, Step
from .names import BUS, get_att, ref, step_metadata

SOURCE = "motia"
DLQ_RETENTION = 14 * 24 * 3600  # SQS maximum: time to look at and redrive failures
QUEUE_RETENTION = 4 * 24 * 3600  # SQS default, stated so the DLQ's longer retention is visible
# EventBridge's own retries of a delivery to the queue (its defaults, stated): 24 h, 185 tries.
RULE_MAX_RETRIES = 185
RULE_MAX_AGE = 24 * 3600


def queue_ids(base: str) -> tuple[str, str, str, str]:
    """Logical ids of a step's queue, dead-letter queue, rule and queue policy."""
    return f"{base}Queue", f"{base}DeadLetterQueue", f"{base}Rule", f"{base}QueuePolicy"


def is_fifo(step: Step) -> bool:
    return isinstance(step.config, EventConfig) and step.config.infrastructure.queue.type == "fifo"


def fifo_routes(project: Project, bases: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    """For each step name: {emitted topic: [FIFO queue ids subscribed to it]}, only where non-empty."""
    routes: dict[str, dict[str, list[str]]] = {}
    for step in project.steps.values():
        per_topic: dict[str, list[str]] = {}
        for topic in sorted(step.config.emit_topics):
            queues = [queue_ids(bases[s.name])[0] for s in project.subscribers(topic) if is_fifo(s)]
            if queues:
                per_topic[topic] = sorted(queues)
        if per_topic:
            routes[step.name] = per_topic
    return routes


def event_step_resources(step: Step, base: str, rel: str) -> dict[str, dict[str, Any]]:
    config = step.config
    assert isinstance(config, EventConfig)
    queue = config.infrastructure.queue
    timeout = config.infrastructure.handler.timeout
    visibility = queue.lambda_visibility_timeout(timeout)
    if visibility < timeout:
        # While a handler runs, its message is invisible for visibilityTimeout seconds; a shorter
        # value would hand the same event to a second Lambda mid-run (and CloudFormation refuses
        # the event source mapping). We refuse rather than silently lengthen it, because the
        # visibility timeout is what the step author chose. Unset, it is 6 x the timeout.
        raise ConfigError(
            f"visibilityTimeout ({queue.visibility_timeout} s) must be at least the handler timeout "
            f"(infrastructure.handler.timeout = {timeout} s): SQS would redeliver the event while the "
            f"first Lambda still runs; set visibilityTimeout >= {timeout}",
            file=rel,
            field="infrastructure.queue.visibilityTimeout",
        )
    queue_id, dlq_id, rule_id, policy_id = queue_ids(base)
    fifo = queue.type == "fifo"
    fifo_properties: dict[str, Any] = {"FifoQueue": True} if fifo else {}
    dlq = {
        "Type": "AWS::SQS::Queue",
        "Metadata": step_metadata(config.name, "dlq"),
        # A FIFO queue's dead-letter queue must be FIFO too.
        "Properties": {**fifo_properties, "MessageRetentionPeriod": DLQ_RETENTION},
    }
    main_properties: dict[str, Any] = {**fifo_properties}
    if fifo:
        # Emitters should pass MessageDeduplicationId (the event id); content-based deduplication
        # is the fallback so a send without one is not refused. Deduplication and throughput per
        # message group is SQS's high-throughput FIFO mode.
        main_properties |= {
            "ContentBasedDeduplication": True,
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        }
    main_properties |= {
        "VisibilityTimeout": visibility,
        "DelaySeconds": queue.delay_seconds,
        "MessageRetentionPeriod": QUEUE_RETENTION,
        # maxRetries counts retries after the first attempt; SQS counts receives.
        "RedrivePolicy": {"deadLetterTargetArn": get_att(dlq_id, "Arn"), "maxReceiveCount": queue.max_retries + 1},
    }
    resources: dict[str, dict[str, Any]] = {
        queue_id: {"Type": "AWS::SQS::Queue", "Metadata": step_metadata(config.name, "queue"),
                   "Properties": main_properties},
        dlq_id: dlq,
    }
    if not fifo:
        resources[rule_id] = _rule(config, queue_id, dlq_id)
        resources[policy_id] = _queue_policy(config.name, queue_id, dlq_id, rule_id)
    return resources


def event_pattern(topics: list[str]) -> dict[str, list[str]]:
    return {"source": [SOURCE], "detail-type": list(topics)}


def _rule(config: EventConfig, queue_id: str, dlq_id: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Metadata": step_metadata(config.name, "rule"),
        "Properties": {
            "Description": f"Motia: {', '.join(config.subscribes)} -> {config.name}"[:512],
            "EventBusName": ref(BUS),
            "EventPattern": event_pattern(config.subscribes),
            "State": "ENABLED",
            "Targets": [{
                "Id": "StepQueue",
                "Arn": get_att(queue_id, "Arn"),
                # An event EventBridge cannot hand to the queue (deleted, policy broken, throttled
                # past its retries) lands in the step's DLQ beside those the step failed on.
                "DeadLetterConfig": {"Arn": get_att(dlq_id, "Arn")},
                "RetryPolicy": {"MaximumRetryAttempts": RULE_MAX_RETRIES, "MaximumEventAgeInSeconds": RULE_MAX_AGE},
            }],
        },
    }


def _queue_policy(step_name: str, queue_id: str, dlq_id: str, rule_id: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Metadata": step_metadata(step_name, "queue-policy"),
        "Properties": {
            "Queues": [ref(queue_id), ref(dlq_id)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AllowTheStepRule",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": [get_att(queue_id, "Arn"), get_att(dlq_id, "Arn")],
                        # Only this step's rule may send (to the queue, or its DLQ as the rule's
                        # dead-letter target), not any rule in any account.
                        "Condition": {"ArnEquals": {"aws:SourceArn": get_att(rule_id, "Arn")}},
                    }
                ],
            },
        },
    }

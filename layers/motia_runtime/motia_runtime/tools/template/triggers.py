"""Stream and state triggers on AWS: the function that reads the tables' change streams and queues
the triggers (``hosts/aws/triggers.py``), added only when some step has such a trigger.

It is a second consumer of the streams table's stream (the fan-out is the first: DynamoDB
Streams serves two per shard without throttling), and the only consumer of the state table's,
which gets a stream only then. The trigger steps themselves are queue steps (queues.py): a FIFO
trigger queue is sent to directly (``MOTIA_FIFO_QUEUES``, ``sqs:SendMessage`` on exactly those
queues), a standard one through the bus and its rule.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any

from ...config import StateTriggerConfig, StreamTriggerConfig
from ...project import Project
from ...stream_hooks import tracks_leaves
from .functions import _fifo_queue_env
from .names import (
    BUS,
    CONNECTIONS_TABLE,
    HANDLERS,
    STATE_TABLE,
    STREAMS_TABLE,
    TRIGGERS_FAILURES,
    TRIGGERS_FUNCTION,
    app_metadata,
    get_att,
    ref,
)
from .queues import is_fifo, queue_ids

# Same shape as the fan-out's source (websocket.py): a poison record is bisected out, retried,
# then its position goes to the failure queue rather than blocking the shard for 24 h.
TRIGGERS_BATCH_SIZE = 100
TRIGGERS_MAX_RETRIES = 5
TRIGGERS_MEMORY = 512
TRIGGERS_TIMEOUT = 60


def _relative_file(file: Path, project: Project) -> str:
    try:
        return PurePath(file.relative_to(project.root)).as_posix()
    except ValueError:
        return file.as_posix()


# Lambda allows 4 KB of environment variables per function: a longer list is left out, and the
# function then imports every stream at its start, as it did before the list existed.
STREAM_FILES_MAX_CHARS = 2048


def _stream_files_env(project: Project) -> str | None:
    """Each stream's file, for the function to import a stream only on its first use."""
    text = json.dumps({name: _relative_file(project.stream_files[name], project) for name in sorted(project.streams)
                       if name in project.stream_files}, separators=(",", ":"))
    return text if len(text) <= STREAM_FILES_MAX_CHARS else None


def has_state_triggers(project: Project) -> bool:
    return bool(project.state_trigger_steps)


def has_leave_hooks(project: Project) -> bool:
    """Some stream must act when a subscription ends (``on_leave``, presence)."""
    return any(tracks_leaves(config) for config in project.streams.values())


# Only removals of subscription rows reach the function (Lambda's event filtering, before it is
# invoked or billed); the handler checks the same itself.
_LEAVE_PATTERN = '{"eventName": ["REMOVE"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "sub#"}]}}}}'
_LEAVES = {"Filters": [{"Pattern": _LEAVE_PATTERN}]}


def _source(table: str, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "Type": "DynamoDB",
        "Properties": {
            **({"FilterCriteria": filters} if filters else {}),
            "Stream": get_att(table, "StreamArn"),
            "StartingPosition": "LATEST",
            "BatchSize": TRIGGERS_BATCH_SIZE,
            "MaximumBatchingWindowInSeconds": 0,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": TRIGGERS_MAX_RETRIES,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": get_att(TRIGGERS_FAILURES, "Arn")}},
        },
    }


def triggers_resources(project: Project, bases: dict[str, str]) -> dict[str, dict[str, Any]]:
    steps = [*project.stream_trigger_steps, *project.state_trigger_steps]
    leaves = has_leave_hooks(project)
    if not steps and not leaves:
        return {}
    fifo = {step.config.subscribes[0]: [queue_ids(bases[step.name])[0]]
            for step in steps if is_fifo(step)}
    policies: list[dict[str, Any]] = [{"EventBridgePutEventsPolicy": {"EventBusName": ref(BUS)}}]
    for queue in sorted(q for queues in fifo.values() for q in queues):
        policies.append({"Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"],
                                        "Resource": get_att(queue, "Arn")}]})
    events: dict[str, Any] = {}
    if any(isinstance(s.config, StreamTriggerConfig) for s in steps):
        events["Streams"] = _source(STREAMS_TABLE)
    if any(isinstance(s.config, StateTriggerConfig) for s in steps):
        events["State"] = _source(STATE_TABLE)
    if leaves:
        events["Leaves"] = _source(CONNECTIONS_TABLE, _LEAVES)
        # on_leave hooks may read and write state and streams like a step
        policies += [{"DynamoDBCrudPolicy": {"TableName": ref(STATE_TABLE)}},
                     {"DynamoDBCrudPolicy": {"TableName": ref(STREAMS_TABLE)}}]
    environment: dict[str, Any] = {}
    if steps:  # cold start: the function imports its trigger steps only (bootstrap.py)
        environment["MOTIA_STEP_FILES"] = ",".join(sorted({_relative_file(s.file, project) for s in steps}))
    stream_files = _stream_files_env(project)
    if stream_files is not None:  # and its streams as leave hooks first use them
        environment["MOTIA_STREAM_FILES"] = stream_files
    if fifo:
        environment["MOTIA_FIFO_QUEUES"] = _fifo_queue_env(fifo)
    properties: dict[str, Any] = {
        "Description": "Motia triggers: stream and state triggers, and streams' on_leave hooks, from the tables' "
                       "change streams",
        "Handler": HANDLERS["triggers"],
        "MemorySize": TRIGGERS_MEMORY,
        "Timeout": TRIGGERS_TIMEOUT,
        "Policies": policies,
        "Events": events,
    }
    if environment:
        properties["Environment"] = {"Variables": environment}
    return {
        TRIGGERS_FAILURES: {
            "Type": "AWS::SQS::Queue",
            "Metadata": app_metadata("triggers-dlq"),
            "Properties": {"MessageRetentionPeriod": 14 * 24 * 3600},
        },
        TRIGGERS_FUNCTION: {"Type": "AWS::Serverless::Function", "Metadata": app_metadata("triggers"),
                            "Properties": properties},
    }

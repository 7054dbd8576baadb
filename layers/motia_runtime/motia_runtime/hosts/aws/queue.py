"""Lambda entry for event steps: an SQS batch in, ``dispatch.run_event`` per record, partial failures out.

Handler string: ``motia_runtime.hosts.aws.queue.handler``; the step is ``MOTIA_STEP``. Each SQS
body is an EventBridge event whose ``detail`` is the event envelope (the FIFO path writes the
same shape, see ``adapters/aws/bus.py``); a bare envelope is accepted too.

Failures are reported per record through Powertools' batch utility (``batchItemFailures``), so
SQS redelivers only the failed records and, after ``maxReceiveCount`` receives, moves them to
the step's DLQ. That includes records that can never succeed (a body that is not an envelope,
an InvalidInputError): they are logged as such and reported failed rather than deleted, so
they end in the DLQ for inspection after ``maxRetries`` quick failures, never retried for ever
and never silently dropped. (Sending them to the DLQ at once would need each function to know
its DLQ and hold ``sqs:SendMessage`` on it, which the template does not grant.)

Standard queues run a batch's records concurrently; FIFO queues run them in order and, once a
record of a message group fails, fail the rest of that group so its order is kept.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    async_process_partial_response,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ...adapters.aws.tracing import current_trace_id
from ...config import EventConfig
from ...dispatch import InvalidInputError, run_event
from ...errors import MotiaError
from ...ports.events import Event
from ...project import Step
from ...runtime import Runtime
from . import bootstrap


class MalformedMessageError(MotiaError):
    """An SQS body that is not a motia event (retrying cannot help)."""


def parse_envelope(body: str) -> Event:
    """The event in an SQS body: an EventBridge event with the envelope in ``detail``, or a bare envelope."""
    try:
        message = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        raise MalformedMessageError(f"the message body is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedMessageError("the message body is not a JSON object")
    envelope = message.get("detail") if "detail" in message else message
    if not isinstance(envelope, dict):
        raise MalformedMessageError("the EventBridge event's 'detail' is not an object")
    problems = [name for name in ("topic", "traceId") if not isinstance(envelope.get(name), str) or not envelope[name]]
    group = envelope.get("messageGroupId")
    if group is not None and not isinstance(group, str):
        problems.append("messageGroupId")
    if problems:
        raise MalformedMessageError(f"not a motia event envelope: missing or invalid {', '.join(problems)}")
    return Event.from_envelope(envelope)


async def _handle(runtime: Runtime, step: Step, record: SQSRecord) -> None:
    log = bootstrap.logger(entry="queue", step=step.name, messageId=record.message_id,
                           receiveCount=record.attributes.approximate_receive_count)
    try:
        event = parse_envelope(record.body)
    except MalformedMessageError as exc:
        log.error(f"not a motia event; reported failed (SQS dead-letters it after maxReceiveCount): {exc}",
                  body=record.body[:1000])
        raise
    config: EventConfig = step.config  # type: ignore[assignment]
    if event.topic not in config.subscribes:
        log.error(f"step does not subscribe to topic {event.topic!r}; the rule or MOTIA_FIFO_QUEUES is wrong",
                  traceId=event.trace_id)
        raise MalformedMessageError(f"topic {event.topic!r} is not one step {step.name!r} subscribes to")
    token = current_trace_id.set(event.trace_id)
    log = log.child(traceId=event.trace_id, topic=event.topic)
    try:
        await run_event(runtime, step, event)
    except InvalidInputError as exc:
        log.error(f"event input is invalid; retrying cannot help, it will go to the DLQ: {exc}", errors=exc.errors)
        raise
    except Exception as exc:
        log.exception(f"step failed, the message will be retried: {type(exc).__name__}: {exc}")
        raise
    finally:
        current_trace_id.reset(token)
    log.debug("event handled")


def _is_fifo(records: list[Any]) -> bool:
    first = records[0] if records and isinstance(records[0], dict) else {}
    return str(first.get("eventSourceARN", "")).endswith(".fifo") or "MessageGroupId" in (first.get("attributes") or {})


def _fail_all(records: list[Any]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": r.get("messageId")} for r in records if isinstance(r, dict)]}


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    log = bootstrap.logger(entry="queue", step=bootstrap.step_name())
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        log.error("malformed SQS event: no 'Records' list; nothing to process")
        return {"batchItemFailures": []}
    try:
        runtime = bootstrap.runtime()
        step = bootstrap.step("event")
    except MotiaError as exc:
        log.exception(f"the queue function cannot run its step; failing the batch: {exc}")
        return _fail_all(records)

    async def async_record(record: SQSRecord) -> None:
        await _handle(runtime, step, record)

    def sync_record(record: SQSRecord) -> None:
        bootstrap.run(_handle(runtime, step, record))

    processor: BatchProcessor | AsyncBatchProcessor
    if _is_fifo(records):
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # Report failures instead of raising when all records fail: the result is the same for
        # SQS, and the invocation does not end in an error without our log line.
        processor.raise_on_entire_batch_failure = False
        result = process_partial_response(event, record_handler=sync_record, processor=processor, context=context)
    else:
        processor = AsyncBatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        bootstrap.loop()  # Powertools runs the batch on the current thread's loop: make it ours
        result = async_process_partial_response(event, record_handler=async_record, processor=processor,
                                                context=context)
    failed = len(result.get("batchItemFailures", []))
    log.info("batch handled", records=len(records), failed=failed)
    return dict(result)

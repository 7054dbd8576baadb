"""Lambda entry for event steps: an SQS batch in, ``dispatch.run_event`` per record, partial failures out.

Handler string: ``motia_runtime.hosts.aws.queue.handler``; the step is ``MOTIA_STEP``. Each SQS
body is an EventBridge event whose ``detail`` is the event envelope (the FIFO path writes the
same shape, see ``adapters/aws/bus.py``); a bare envelope is accepted too.

Failures are reported per record (``batchItemFailures``, as Powertools' batch utility reports
them), so SQS redelivers only the failed records and, after ``maxReceiveCount`` receives, moves
them to the step's DLQ. That includes records that can never succeed (a body that is not an
envelope, an InvalidInputError): they are logged as such and reported failed rather than
deleted, so they end in the DLQ for inspection after ``maxRetries`` quick failures, never
retried for ever and never silently dropped. (Sending them to the DLQ at once would need each function to know
its DLQ and hold ``sqs:SendMessage`` on it, which the template does not grant.)

Standard queues run a batch's records concurrently; FIFO queues run them in order and, once a
record of a message group fails, fail the rest of that group so its order is kept. (This is what
Powertools' ``AsyncBatchProcessor`` and ``SqsFifoPartialProcessor(skip_group_on_error=True)`` did
here, failures listed in the order they happened; importing that utility imported every one of
Powertools' event data classes, a sixth of this function's cold start.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from ... import jsonsafe
from ...adapters.aws.tracing import current_trace_id
from ...config import EventConfig
from ...dispatch import InvalidInputError, run_event
from ...errors import MotiaError
from ...ports.events import Event
from ...project import Step
from ...runtime import Runtime
from . import _gc, bootstrap


class MalformedMessageError(MotiaError):
    """An SQS body that is not a motia event (retrying cannot help)."""


def parse_envelope(body: str) -> Event:
    """The event in an SQS body: an EventBridge event with the envelope in ``detail``, or a bare envelope."""
    try:
        message = jsonsafe.loads(body, what="message body")
    except jsonsafe.InvalidJSONError as exc:
        raise MalformedMessageError(str(exc)) from None
    except TypeError as exc:
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


async def _handle(runtime: Runtime, step: Step, record: dict[str, Any]) -> None:
    log = bootstrap.logger(entry="queue", step=step.name, messageId=record["messageId"],
                           receiveCount=record["attributes"]["ApproximateReceiveCount"])
    body = record["body"]
    try:
        event = parse_envelope(body)
    except MalformedMessageError as exc:
        log.error(f"not a motia event; reported failed (SQS dead-letters it after maxReceiveCount): {exc}",
                  body=body[:1000])
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


async def _run_concurrently(runtime: Runtime, step: Step, records: list[Any]) -> list[Any]:
    """Every record at once; the failed ones in the order they failed."""
    failed: list[Any] = []

    async def one(record: Any) -> None:
        try:
            await _handle(runtime, step, record)
        except Exception:  # logged by _handle; reported to SQS
            failed.append(record)

    await asyncio.gather(*(one(record) for record in records))
    return failed


def _run_in_order(runtime: Runtime, step: Step, records: list[Any]) -> list[Any]:
    """One record after the other; once one of a message group fails, the group's later records
    are failed without running, so SQS hands the group over again in order."""
    failed: list[Any] = []
    failed_groups: set[Any] = set()
    for record in records:
        group = record.get("attributes", {}).get("MessageGroupId")
        if group not in failed_groups:
            try:
                bootstrap.run(_handle(runtime, step, record))
                continue
            except Exception:  # logged by _handle; reported to SQS
                pass
        if group:
            failed_groups.add(group)
        failed.append(record)
    return failed


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    log = bootstrap.logger(entry="queue", step=bootstrap.step_name())
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        log.error("malformed SQS event: no 'Records' list; nothing to process")
        return {"batchItemFailures": []}
    if not records:
        log.error("malformed SQS event: the 'Records' list is empty; nothing to process")
        return {"batchItemFailures": []}
    try:
        runtime = bootstrap.runtime()
        step = bootstrap.step("event")
    except MotiaError as exc:
        log.exception(f"the queue function cannot run its step; failing the batch: {exc}")
        return _fail_all(records)
    # The whole batch's failures are reported, never raised, even when every record failed: the
    # result is the same for SQS, and the invocation does not end in an error without our log line.
    if _is_fifo(records):
        failed = _run_in_order(runtime, step, records)
    else:
        failed = bootstrap.run(_run_concurrently(runtime, step, records))
    log.info("batch handled", records=len(records), failed=len(failed))
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in failed]}


_gc.resume()  # the entry module is imported: the collector is back on (see _gc.py)

"""Lambda entry for event steps: an SQS batch in, ``dispatch.run_event`` per record, partial failures out.

Handler string: ``motia_runtime.hosts.aws.queue.handler``; the step is ``MOTIA_STEP``. Each SQS
body is an EventBridge event whose ``detail`` is the event envelope (the FIFO path writes the
same shape, see ``adapters/aws/bus.py``); a bare envelope is accepted too.

Failures are reported per record (``batchItemFailures``, as Powertools' batch utility reports
them), so SQS redelivers only the failed records and, after ``maxReceiveCount`` receives, moves
them to the step's DLQ. Each failed record is first hidden for the step's retry delay
(``backoffDelayMs``/``backoffType``, the same ``QueueInfra.retry_delay_ms`` the local host uses),
and the last attempt's record is made visible at once so SQS moves it to the DLQ without waiting.
A record that can never succeed (a body that is not an event, input that breaks the step's
schema) is sent to the DLQ at once and reported handled, as the local host dead-letters it
(``adapters/aws/redelivery.py``); if that send fails it is reported failed and retried instead.

Standard queues run a batch's records concurrently; FIFO queues run them in order and, once a
record of a message group fails, fail the rest of that group so its order is kept. (This is what
Powertools' ``AsyncBatchProcessor`` and ``SqsFifoPartialProcessor(skip_group_on_error=True)`` did
here, failures listed in the order they happened; importing that utility imported every one of
Powertools' event data classes, a sixth of this function's cold start.)
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ... import jsonsafe
from ...adapters.aws import _client
from ...dispatch import InvalidInputError, run_event
from ...errors import MotiaError
from ...ports.events import Event
from ...project import Step
from ...runtime import Runtime
from . import _gc, bootstrap

if TYPE_CHECKING:
    from ...event_config import EventConfig


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


async def _handle(runtime: Runtime, step: Step[EventConfig], record: dict[str, Any]) -> None:
    log = bootstrap.logger(entry="queue", step=step.name, messageId=record["messageId"],
                           receiveCount=record["attributes"]["ApproximateReceiveCount"])
    body = record["body"]
    try:
        event = parse_envelope(body)
    except MalformedMessageError as exc:
        log.error(f"not a motia event; retrying cannot help, it goes to the DLQ: {exc}",
                  body=body[:1000])
        raise
    config = step.config
    if event.topic not in config.subscribes:
        log.error(f"step does not subscribe to topic {event.topic!r}; the rule or MOTIA_FIFO_QUEUES is wrong",
                  traceId=event.trace_id)
        raise MalformedMessageError(f"topic {event.topic!r} is not one step {step.name!r} subscribes to")
    log = log.child(traceId=event.trace_id, topic=event.topic)
    try:
        await run_event(runtime, step, event)
    except InvalidInputError as exc:
        log.error(f"event input is invalid; retrying cannot help, it goes to the DLQ: {exc}", errors=exc.errors)
        raise
    except Exception as exc:
        log.exception(f"step failed, the message will be retried: {type(exc).__name__}: {exc}")
        raise
    log.debug("event handled")


def _receive_count(record: dict[str, Any]) -> int:
    try:
        return int(record["attributes"]["ApproximateReceiveCount"])
    except (KeyError, TypeError, ValueError):
        return 1


async def _settle(runtime: Runtime, step: Step[EventConfig], record: dict[str, Any]) -> bool:
    """Run one record and deal with its failure; True when it is to be reported failed."""
    try:
        await _handle(runtime, step, record)
        return False
    except (MalformedMessageError, InvalidInputError) as exc:
        return not await _dead_letter(step, record, exc)
    except Exception:  # logged by _handle
        await _retry_later(step, record, _receive_count(record))
        return True


async def _dead_letter(step: Step, record: dict[str, Any], exc: Exception) -> bool:
    log = bootstrap.logger(entry="queue", step=step.name, messageId=record.get("messageId"))
    try:
        sent = await _client.in_thread(bootstrap.redelivery().dead_letter, record=record,
                                       reason=f"{type(exc).__name__}: {exc}")
    except Exception as error:  # an AWS error, or a record without a body
        log.error(f"could not send the message to the DLQ; it will be retried instead: {error}")
        return False
    if sent:
        log.warning("message sent to the DLQ without retries (retrying cannot help)")
    return sent


async def _retry_later(step: Step[EventConfig], record: dict[str, Any], attempts: int) -> None:
    """Hide a failed record for the step's retry delay (0 after its last attempt: straight to the DLQ)."""
    delay_s = 0
    try:
        queue = step.config.infrastructure.queue
        if attempts <= queue.max_retries:
            delay_s = -(-queue.retry_delay_ms(attempts) // 1000)  # SQS counts whole seconds
        await _client.in_thread(bootstrap.redelivery().retry_later, record=record, seconds=delay_s)
    except Exception as error:  # the failure is still reported; the queue's visibility timeout applies
        bootstrap.logger(entry="queue", messageId=record.get("messageId")).warning(
            f"could not set the retry delay ({delay_s} s); the queue's visibility timeout applies: {error}")


def _is_fifo(records: list[Any]) -> bool:
    first = records[0] if records and isinstance(records[0], dict) else {}
    return str(first.get("eventSourceARN", "")).endswith(".fifo") or "MessageGroupId" in (first.get("attributes") or {})


def _fail_all(records: list[Any]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": r.get("messageId")} for r in records if isinstance(r, dict)]}


async def _run_concurrently(runtime: Runtime, step: Step[EventConfig], records: list[Any]) -> list[Any]:
    """Every record at once; the failed ones in the order they failed."""
    failed: list[Any] = []

    async def one(record: Any) -> None:
        if await _settle(runtime, step, record):
            failed.append(record)

    await asyncio.gather(*(one(record) for record in records))
    return failed


def _run_in_order(runtime: Runtime, step: Step[EventConfig], records: list[Any]) -> list[Any]:
    """One record after the other; once one of a message group fails, the group's later records
    are failed without running, so SQS hands the group over again in order."""
    failed: list[Any] = []
    failed_groups: dict[Any, int] = {}  # group -> the receive count of its failed record
    for record in records:
        group = record.get("attributes", {}).get("MessageGroupId")
        if group not in failed_groups:
            if not bootstrap.run(_settle(runtime, step, record)):
                continue
            if group:
                failed_groups[group] = _receive_count(record)
        else:  # held back with the failed record before it, for as long
            bootstrap.run(_retry_later(step, record, failed_groups[group]))
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

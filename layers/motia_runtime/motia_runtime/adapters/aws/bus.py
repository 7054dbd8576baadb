"""EventBus on EventBridge (standard steps) and SQS FIFO queues (FIFO steps).

Every event is put on the app's bus: ``Source`` = ``motia``, ``DetailType`` = topic, ``Detail``
= the event envelope. Each standard event step has a rule on its topics that targets its SQS
queue, and its Lambda reads the envelope from the EventBridge event's ``detail``.

Why FIFO steps bypass EventBridge: EventBridge's SQS target takes one fixed ``MessageGroupId``
per target (CloudFormation ``SqsParameters``), but a Motia FIFO step orders events by the
``messageGroupId`` given with each ``emit``. A rule cannot carry that value through, so the
emitter sends each event itself to every FIFO queue subscribed to the topic (listed in
``MOTIA_FIFO_QUEUES``) with ``SendMessage(MessageGroupId=messageGroupId,
MessageDeduplicationId=event id)``. The body has the shape of an EventBridge event
(``detail-type``, ``source``, ``detail``), so the queue entry point reads both paths alike.
An SNS FIFO topic would also carry a per-message group id, but adds a resource and a hop for
nothing the direct send does not give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pydantic_core

from ...errors import EmitError
from ...ports.events import Event, EventBus
from . import _client
from ._client import LazyClient, in_thread

if TYPE_CHECKING:  # the dev extra's boto3-stubs
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_sqs import SQSClient

SOURCE = "motia"
# PutEvents takes at most 10 entries, and an entry (and, to stay safe, a whole request) must be
# under 256 KB by EventBridge's size formula.
MAX_ENTRIES = 10
MAX_ENTRY_BYTES = 256 * 1024
_TIME_BYTES = 14  # what EventBridge counts for the entry's Time field
# The per-entry errors PutEvents says may pass on a resend (its PutEventsResultEntry docs); the
# others (MalformedDetail, AccessDeniedException, ...) fail the same way every time.
_RETRYABLE = frozenset({"ThrottlingException", "InternalFailure"})


def entry_size(source: str, detail_type: str, detail: str) -> int:
    """An entry's size as EventBridge computes it (Time + Source + DetailType + Detail, UTF-8)."""
    return _TIME_BYTES + len(source.encode()) + len(detail_type.encode()) + len(detail.encode())


def eventbridge_body(event: Event, source: str = SOURCE) -> str:
    """The EventBridge event shape, as the FIFO path writes it to SQS."""
    body = {
        "version": "0", "id": event.id, "detail-type": event.topic, "source": source,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "resources": [],
        "detail": event.to_envelope(),
    }
    return pydantic_core.to_json(body).decode()


class EventBridgeBus(EventBus):
    def __init__(self, bus_name: str, *, fifo_queues: Mapping[str, Sequence[str]] | None = None,
                 events_client: Any | None = None, sqs_client: Any | None = None, source: str = SOURCE) -> None:
        self.bus_name = bus_name
        self.fifo_queues = {topic: list(urls) for topic, urls in (fifo_queues or {}).items()}
        self.source = source
        self._events: LazyClient[EventBridgeClient] = LazyClient("events", events_client)
        self._sqs: LazyClient[SQSClient] = LazyClient("sqs", sqs_client)

    def _entries(self, events: Sequence[Event]) -> list[tuple[Event, PutEventsRequestEntryTypeDef, int]]:
        out = []
        for event in events:
            detail = pydantic_core.to_json(event.to_envelope()).decode()
            size = entry_size(self.source, event.topic, detail)
            if size > MAX_ENTRY_BYTES:
                raise EmitError(
                    f"event on topic {event.topic!r} is {size} bytes, over EventBridge's {MAX_ENTRY_BYTES}-byte "
                    "limit: emit a reference (an id, a state key) instead of the data itself"
                )
            if event.topic in self.fifo_queues and not event.message_group_id:
                raise EmitError(f"topic {event.topic!r} feeds FIFO queues, so the event needs a messageGroupId")
            entry: PutEventsRequestEntryTypeDef = {"Source": self.source, "DetailType": event.topic, "Detail": detail,
                                                   "EventBusName": self.bus_name}
            out.append((event, entry, size))
        return out

    async def publish(self, events: Sequence[Event]) -> None:
        # Check every event before sending any, so an oversized one fails the emit whole.
        entries = self._entries(events)
        batch: list[tuple[Event, PutEventsRequestEntryTypeDef, int]] = []
        batch_bytes = 0
        for item in entries:
            if batch and (len(batch) == MAX_ENTRIES or batch_bytes + item[2] > MAX_ENTRY_BYTES):
                await self._put(batch)
                batch, batch_bytes = [], 0
            batch.append(item)
            batch_bytes += item[2]
        if batch:
            await self._put(batch)
        for event in events:
            for url in self.fifo_queues.get(event.topic, []):
                await self._send_fifo(event, url)

    async def _put(self, batch: list[tuple[Event, PutEventsRequestEntryTypeDef, int]]) -> None:
        refused: list[str] = []

        def send(pending: list[tuple[Event, PutEventsRequestEntryTypeDef, int]]) -> list[
                tuple[Event, PutEventsRequestEntryTypeDef, int]]:
            out = self._events.get().put_events(Entries=[entry for _, entry, _ in pending])
            if not out.get("FailedEntryCount"):
                return []
            again = []
            for item, result in zip(pending, out.get("Entries", []), strict=False):
                code = result.get("ErrorCode")
                if code in _RETRYABLE:
                    again.append(item)  # only these: resending the rest would put them on the bus twice
                elif code:
                    refused.append(f"{item[0].topic!r}: {code} {result.get('ErrorMessage', '')}".strip())
            return again

        try:
            throttled = await in_thread(_client.resend_until_taken, send, batch)
        except _client.AWS_ERRORS as exc:
            topics = ", ".join(sorted({e.topic for e, _, _ in batch}))
            raise EmitError(f"EventBridge PutEvents on bus {self.bus_name!r} failed for topic(s) {topics}: {exc}") \
                from exc
        refused += [f"{event.topic!r}: still throttled after {_client.BATCH_ROUNDS} tries" for event, _, _ in throttled]
        if refused:
            raise EmitError(f"EventBridge refused {len(refused)} event(s) on bus {self.bus_name!r}: "
                            + "; ".join(refused))

    async def _send_fifo(self, event: Event, url: str) -> None:
        assert event.message_group_id, "_entries refuses a FIFO topic's event without one"
        try:
            await in_thread(
                self._sqs.get().send_message, QueueUrl=url, MessageBody=eventbridge_body(event, source=self.source),
                MessageGroupId=event.message_group_id, MessageDeduplicationId=event.id,
            )
        except _client.AWS_ERRORS as exc:
            raise EmitError(f"sending the {event.topic!r} event to FIFO queue {url} failed: {exc}") from exc

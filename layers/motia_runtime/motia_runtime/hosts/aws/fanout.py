"""Lambda entry that pushes stream changes to WebSocket clients: DynamoDB stream records in, frames out.

Handler string: ``motia_runtime.hosts.aws.fanout.handler`` (event source: the streams table's
stream, with ``FunctionResponseTypes: [ReportBatchItemFailures]``).

Per batch: each record becomes a StreamChange (``adapters/aws/streams.change_from_record``);
each room's subscribers are looked up once; each connection gets its frames in record order,
one copy per change even when it holds both the item's and the group's subscription (Motia's
clients route a frame to both themselves); connections are served in parallel from a thread
pool. A connection that answers 410 Gone is removed with all its subscriptions. A record whose
post failed for another reason is reported in ``batchItemFailures``: Lambda then retries from
that record on, so clients may see a frame twice, which they drop as stale (same timestamp)
for item changes; ``send()`` events may repeat. A record that cannot be read is logged and
skipped, since retrying cannot help.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from ...adapters.aws.pusher import ApiGatewayPusher
from ...adapters.aws.streams import change_from_record, trace_id_of
from ...adapters.aws.subscriptions import DynamoDBSubscriptions
from ...errors import ConnectionGoneError, MotiaError
from ...log import StepLogger
from ...ports.streams import StreamChange
from ...protocol import Room, change_frame, encode, rooms_for
from . import bootstrap

MAX_WORKERS = 16


@dataclass(frozen=True, slots=True)
class PendingChange:
    sequence_number: str
    change: StreamChange
    trace_id: str | None


@dataclass
class FanoutResult:
    failed: list[str] = field(default_factory=list)  # sequence numbers, in record order
    frames: int = 0
    connections: int = 0
    gone: list[str] = field(default_factory=list)


def read_records(records: list[Any], log: StepLogger) -> list[PendingChange]:
    out: list[PendingChange] = []
    for raw in records:
        try:
            record = DynamoDBRecord(raw)
            stream = record.dynamodb
            assert stream is not None and record.event_name is not None, "no dynamodb/eventName"
            new, old = stream.new_image, stream.old_image
            change = change_from_record(record.event_name.name, new, old)
            sequence = str(stream.sequence_number)
        except Exception as exc:  # not a stream record of ours: retrying it cannot help
            log.exception(f"unreadable DynamoDB stream record skipped: {type(exc).__name__}: {exc}")
            continue
        if change is not None:
            out.append(PendingChange(sequence, change, trace_id_of(new, old)))
    return out


class Fanout:
    def __init__(self, subscriptions: DynamoDBSubscriptions, pusher: ApiGatewayPusher, log: StepLogger,
                 max_workers: int = MAX_WORKERS) -> None:
        self.subscriptions = subscriptions
        self.pusher = pusher
        self.log = log
        self.max_workers = max_workers

    def _members(self, room: Room) -> set[str] | None:
        try:
            return self.subscriptions.connections_in_room(*room)
        except MotiaError as exc:
            self.log.error(f"subscriber lookup failed for room {room}: {exc}")
            return None

    def _send(self, connection_id: str, frames: list[tuple[str, str]]) -> tuple[bool, list[str]]:
        """Post a connection's frames in order; returns (gone, sequence numbers not delivered)."""
        for index, (_sequence, text) in enumerate(frames):
            try:
                self.pusher.post(connection_id, text)
            except ConnectionGoneError:
                try:
                    self.subscriptions.remove_connection(connection_id)
                except MotiaError as exc:
                    self.log.error(f"could not remove gone connection {connection_id}: {exc}")
                return True, []
            except MotiaError as exc:
                # Stop here: sending the later frames first would reorder them for this client.
                self.log.error(f"post to {connection_id} failed: {exc}", connectionId=connection_id)
                return False, [s for s, _ in frames[index:]]
        return False, []

    def deliver(self, pending: list[PendingChange]) -> FanoutResult:
        result = FanoutResult()
        rooms = sorted({room for p in pending for room in rooms_for(p.change)}, key=str)
        if not rooms:
            return result
        failed: set[str] = set()
        with ThreadPoolExecutor(min(self.max_workers, max(len(rooms), 1))) as pool:
            members = dict(zip(rooms, pool.map(self._members, rooms), strict=True))
        outbox: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for p in pending:
            change_rooms = rooms_for(p.change)
            if any(members[r] is None for r in change_rooms):
                failed.add(p.sequence_number)
                continue
            targets = set().union(*(members[r] or set() for r in change_rooms))
            if not targets:
                continue
            text = encode(change_frame(p.change))
            for connection_id in targets:
                outbox[connection_id].append((p.sequence_number, text))
            self.log.debug("pushing change", traceId=p.trace_id, stream=p.change.stream_name,
                           groupId=p.change.group_id, id=p.change.id, type=p.change.type, connections=len(targets))
        if outbox:
            with ThreadPoolExecutor(min(self.max_workers, len(outbox))) as pool:
                outcomes = list(pool.map(lambda item: self._send(*item), outbox.items()))
            for (connection_id, frames), (gone, undelivered) in zip(outbox.items(), outcomes, strict=True):
                if gone:
                    result.gone.append(connection_id)
                failed.update(undelivered)
                result.frames += len(frames) - len(undelivered)
        result.connections = len(outbox)
        result.failed = [p.sequence_number for p in pending if p.sequence_number in failed]
        for p in pending:
            if p.sequence_number in failed:
                self.log.error("change not delivered; reported for retry", traceId=p.trace_id,
                               sequenceNumber=p.sequence_number, stream=p.change.stream_name)
        return result


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    log = bootstrap.logger(entry="fanout")
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        log.error("malformed DynamoDB stream event: no 'Records' list; nothing to push")
        return {"batchItemFailures": []}
    pending = read_records(records, log)
    if not pending:
        return {"batchItemFailures": []}
    try:
        fanout = Fanout(bootstrap.subscriptions(), bootstrap.pusher(), log)
    except MotiaError as exc:
        log.exception(f"the fan-out function is not configured; failing the batch: {exc}")
        return {"batchItemFailures": [{"itemIdentifier": p.sequence_number} for p in pending]}
    result = fanout.deliver(pending)
    log.info("batch pushed", records=len(records), changes=len(pending), frames=result.frames,
             connections=result.connections, gone=len(result.gone), failed=len(result.failed),
             traceIds=sorted({p.trace_id for p in pending if p.trace_id}))
    return {"batchItemFailures": [{"itemIdentifier": s} for s in result.failed]}

"""Lambda entry that pushes stream changes to WebSocket clients: DynamoDB stream records in, frames out.

Handler string: ``motia_runtime.hosts.aws.fanout.handler`` (event source: the streams table's
stream, with ``FunctionResponseTypes: [ReportBatchItemFailures]``).

Per batch: each record becomes a StreamChange (``adapters/aws/streams.change_from_record``);
each room's subscribers are looked up once; each connection gets its frames in record order,
one copy per change even when it holds both the item's and the group's subscription (Motia's
clients route a frame to both themselves); connections are served in parallel from a thread
pool. API Gateway's answers (see ``adapters/aws/pusher.py``):

* 410 Gone: the connection is removed with all its subscriptions;
* 413 / over 128 KB: logged as an error naming the change and its size, and the client gets a
  ``FRAME_TOO_LARGE`` error event instead of the frame; not retried (it cannot fit later);
* 429 after the pusher's retries, or any other failure: that connection gets nothing more from
  this batch (later frames would overtake the failed one) and the record is reported in
  ``batchItemFailures``, so Lambda hands the batch over again from it.

Big rooms (docs/scaling.md): the one query per room per batch reads the room's shard 0, whose
first row is the room's counter. A small room's subscribers are the rest of it, served here as
above (one hop, today's latency). A change that reaches a big room is not posted from here: it
becomes one entry per shard of the room (shards 1..n; shard 0's few subscribers, the joins from
while the room was small, ride along with the shard they hash to), sent in record order to the SQS FIFO delivery
queue (``adapters/aws/delivery_queue.py``), whose workers (``hosts/aws/delivery.py``) post to
each shard's subscribers in parallel. A record whose entries could not all be enqueued is
reported failed; what the retry sends again is dropped by SQS's deduplication or skipped by the
workers' ledger.

No duplicates on that retry: before reporting a failure the fan-out writes a ledger of which
connections already got each record from the first failed one on (connections table, keyed by
that record's sequence number); the retry, which starts with that record, reads it and skips
them. Clients therefore see each change once, Motia's own included. (A crash or timeout of the
function itself leaves no ledger: then frames may repeat, and clients drop repeated item
changes by timestamp or version and repeated events by ``eventId``.) A record that cannot be
read is logged and skipped, since retrying cannot help.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...adapters.aws import keys as k
from ...adapters.aws.delivery_queue import DeliveryQueue, Entry, Unit
from ...adapters.aws.pusher import DEFAULT_PUSH_CONCURRENCY, ApiGatewayPusher
from ...adapters.aws.streams import change_from_record, trace_id_of
from ...adapters.aws.subscriptions import DynamoDBSubscriptions, RoomView
from ...errors import ConnectionGoneError, ConnectionThrottledError, FrameTooLargeError, MotiaError
from ...log import StepLogger
from ...ports.streams import StreamChange
from ...protocol import FRAME_TOO_LARGE, Room, change_frame, encode, error_frame, rooms_for
from . import bootstrap
from .metrics import publish_fanout

# Posts run on the function's Limits.push_concurrency threads (MOTIA_PUSH_CONCURRENCY, default 64;
# why 64: see the pusher). The subscriber queries, one per room, are CPU-bound in botocore (~1.3 ms each against
# ~5 ms on the wire), so a few threads keep them flowing and more would only wait for the GIL; 10 is
# also the DynamoDB client's connection pool (botocore's default), so none is opened per query.
QUERY_WORKERS = 10


@dataclass(frozen=True, slots=True)
class PendingChange:
    sequence_number: str
    change: StreamChange
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame of the record ``sequence_number``, as posted."""

    sequence_number: str
    text: str


@dataclass
class FanoutResult:
    failed: list[str] = field(default_factory=list)  # sequence numbers, in record order
    frames: int = 0
    queued: int = 0  # changes handed to the delivery queue (big rooms)
    connections: int = 0
    gone: list[str] = field(default_factory=list)
    frames_by_stream: dict[str, int] = field(default_factory=dict)  # the metrics' Stream dimension


_EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})

T = TypeVar("T")
R = TypeVar("R")


def parallel(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[fn(item) for item in items]`` on up to ``workers`` threads (the caller's among them),
    results in order; the first exception raised is raised again once every thread is done. Each
    thread takes the next index until none is left: unlike an executor's ``map``, no future, lock
    and queue entry per item (a profile of the 1,000-post batch had the main thread holding the
    GIL ~20 % of the time just submitting them)."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    indexes = itertools.count()  # next() on a count is atomic under the GIL

    def work() -> None:
        for i in iter(indexes.__next__, None):
            if i >= len(items) or errors:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as exc:  # handed to the caller below
                errors.append(exc)

    threads = [threading.Thread(target=work, name=f"motia-fanout-{n}", daemon=True)
               for n in range(min(workers, len(items)) - 1)]
    for thread in threads:
        thread.start()
    work()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def read_records(records: list[Any], log: StepLogger) -> list[PendingChange]:
    out: list[PendingChange] = []
    for raw in records:
        try:
            # Images stay DynamoDB JSON, which change_from_record reads as it is: no Powertools data
            # class, whose package import was a third of this function's cold start (bench/RESULTS.md).
            stream = raw["dynamodb"]
            event_name = raw["eventName"]
            if event_name not in _EVENT_NAMES:
                raise ValueError(f"unknown eventName {event_name!r}")
            new, old = stream.get("NewImage"), stream.get("OldImage")
            change = change_from_record(event_name, new, old)
            sequence = str(stream["SequenceNumber"])
        except Exception as exc:  # not a stream record of ours: retrying it cannot help
            log.exception(f"unreadable DynamoDB stream record skipped: {type(exc).__name__}: {exc}")
            continue
        if change is not None:
            out.append(PendingChange(sequence, change, trace_id_of(new, old)))
    return out


class Fanout:
    def __init__(self, subscriptions: DynamoDBSubscriptions, pusher: ApiGatewayPusher, log: StepLogger,
                 max_workers: int = DEFAULT_PUSH_CONCURRENCY, query_workers: int = QUERY_WORKERS,
                 queue: DeliveryQueue | None = None) -> None:
        self.subscriptions = subscriptions
        self.pusher = pusher
        self.log = log
        self.max_workers = max_workers
        self.query_workers = query_workers
        self.queue = queue

    def _view(self, room: Room) -> RoomView | None:
        try:
            view = self.subscriptions.room_view(k.room(*room))
            if view.big and self.queue is None:
                # A big room but no delivery queue (it was taken out of the template): read every
                # shard here, slowly, rather than miss its subscribers.
                self.log.warning(f"room {room} is sharded but MOTIA_DELIVERY_QUEUE is not set; serving it in one hop")
                return RoomView(self.subscriptions.connections_in_room(*room), 1)
            return view
        except MotiaError as exc:
            self.log.error(f"subscriber lookup failed for room {room}: {exc}")
            return None

    def _too_large(self, connection_id: str, frame: Frame, exc: FrameTooLargeError) -> None:
        # Read back from the frame itself: a delivery worker has the encoded frame, not the change.
        sent = json.loads(frame.text)
        kind = (sent.get("event") or {}).get("type")
        stream, group, id = sent.get("streamName"), sent.get("groupId"), sent.get("id")
        self.log.error(f"change not pushed to {connection_id}: {exc}; not retried", connectionId=connection_id,
                       stream=stream, groupId=group, id=id, type=kind, bytes=len(frame.text.encode()))
        what = f"{stream}/{group}" + (f"/{id}" if id else "")
        notice = error_frame(FRAME_TOO_LARGE, f"A {kind} of {what} was too large to push "
                             f"({len(frame.text.encode())} bytes); read it again instead", sent.get("timestamp") or 0,
                             stream, group, id)
        try:
            self.pusher.post(connection_id, encode(notice))
        except MotiaError as notice_exc:
            self.log.warning(f"could not tell {connection_id} about the dropped frame: {notice_exc}")

    def send_in_order(self, connection_id: str, frames: list[Frame],
                      deadline: float | None = None) -> tuple[bool, list[str]]:
        """Post a connection's frames in order; returns (gone, sequence numbers not delivered).
        Past ``deadline`` (``time.monotonic()``) no further post is started: the rest count as
        not delivered, so the caller can record what was and give the work back before Lambda's
        timeout cuts it off."""
        for index, frame in enumerate(frames):
            if deadline is not None and time.monotonic() > deadline:
                return False, [f.sequence_number for f in frames[index:]]
            try:
                self.pusher.post(connection_id, frame.text)
            except ConnectionGoneError:
                try:
                    self.subscriptions.remove_connection(connection_id)
                except MotiaError as exc:
                    self.log.error(f"could not remove gone connection {connection_id}: {exc}")
                return True, []
            except FrameTooLargeError as exc:
                self._too_large(connection_id, frame, exc)
            except MotiaError as exc:
                # Stop here: sending the later frames first would reorder them for this client.
                kind = "throttled (429) past the retries" if isinstance(exc, ConnectionThrottledError) else "failed"
                self.log.error(f"post to {connection_id} {kind}: {exc}; reported for retry", connectionId=connection_id)
                return False, [f.sequence_number for f in frames[index:]]
        return False, []

    def _ledger(self, first: str) -> dict[str, set[str]]:
        try:
            return self.subscriptions.read_ledger(first)
        except MotiaError as exc:  # never block delivery on it: at worst frames repeat
            self.log.warning(f"retry ledger unreadable, frames may repeat: {exc}")
            return {}

    def _record_ledger(self, pending: list[PendingChange], failed: set[str], earlier: dict[str, set[str]],
                       delivered: dict[str, set[str]]) -> None:
        first = next(i for i, p in enumerate(pending) if p.sequence_number in failed)
        # Lambda hands over everything from the first failed record again.
        entries = {p.sequence_number: earlier.get(p.sequence_number, set()) | delivered.get(p.sequence_number, set())
                   for p in pending[first:]}
        try:
            if not self.subscriptions.write_ledger(pending[first].sequence_number, entries):
                self.log.warning("retry ledger too large to store; the retry may repeat frames")
        except MotiaError as exc:
            self.log.warning(f"retry ledger not written, the retry may repeat frames: {exc}")

    def deliver(self, pending: list[PendingChange]) -> FanoutResult:
        result = FanoutResult()
        rooms = sorted({room for p in pending for room in rooms_for(p.change)}, key=str)
        if not rooms:
            return result
        failed: set[str] = set()
        # The retry ledger is read alongside the rooms' subscribers (None stands for it).
        earlier: dict[str, set[str]] = {}

        def look_up(room: Room | None) -> RoomView | None:
            if room is None:
                earlier.update(self._ledger(pending[0].sequence_number))
                return None
            return self._view(room)

        looked_up = parallel(look_up, [None, *rooms], self.query_workers)
        # The rooms whose subscribers could be read; a change to any other is failed, for a retry.
        views = {room: view for room, view in zip(rooms, looked_up[1:], strict=True) if view is not None}
        outbox: dict[str, list[Frame]] = defaultdict(list)
        units: dict[tuple[str, int, int], Unit] = {}
        for p in pending:
            change_rooms = rooms_for(p.change)
            if any(r not in views for r in change_rooms):
                failed.add(p.sequence_number)
                continue
            if any(views[r].big for r in change_rooms):
                self._to_units(p, change_rooms, views, units)
                result.queued += 1
                continue
            targets = set().union(*(views[r].connections for r in change_rooms))
            targets -= earlier.get(p.sequence_number, set())  # got it in an earlier attempt
            if not targets:
                continue
            frame = Frame(p.sequence_number, encode(change_frame(p.change)))
            for connection_id in targets:
                outbox[connection_id].append(frame)
            self.log.debug("pushing change", traceId=p.trace_id, stream=p.change.stream_name,
                           groupId=p.change.group_id, id=p.change.id, type=p.change.type, connections=len(targets))
        if units and self.queue is not None:
            not_sent = self.queue.send(list(units.values()))
            if not_sent:
                self.log.error(f"delivery work not enqueued, reported for retry: {'; '.join(self.queue.errors[-3:])}")
                self.queue.errors.clear()
            failed |= not_sent
        delivered: dict[str, set[str]] = defaultdict(set)  # sequence number → connections that got it
        streams_of = {p.sequence_number: p.change.stream_name for p in pending}
        if outbox:
            outcomes = parallel(lambda item: self.send_in_order(*item), list(outbox.items()), self.max_workers)
            for (connection_id, frames), (gone, undelivered) in zip(outbox.items(), outcomes, strict=True):
                if gone:
                    result.gone.append(connection_id)
                    continue
                failed.update(undelivered)
                result.frames += len(frames) - len(undelivered)
                for frame in frames:
                    if frame.sequence_number not in undelivered:
                        delivered[frame.sequence_number].add(connection_id)
        for sequence_number, connections in delivered.items():
            stream = streams_of[sequence_number]
            result.frames_by_stream[stream] = result.frames_by_stream.get(stream, 0) + len(connections)
        if failed:
            self._record_ledger(pending, failed, earlier, delivered)
        result.connections = len(outbox)
        result.failed = [p.sequence_number for p in pending if p.sequence_number in failed]
        for p in pending:
            if p.sequence_number in failed:
                self.log.error("change not delivered; reported for retry", traceId=p.trace_id,
                               sequenceNumber=p.sequence_number, stream=p.change.stream_name)
        return result


    def _to_units(self, p: PendingChange, change_rooms: list[Room], views: dict[Room, RoomView],
                  units: dict[tuple[str, int, int], Unit]) -> None:
        """One entry per shard of the change's big rooms, appended to that shard's unit in record
        order. The change's shard-0 subscribers ride along (a small room's, and a big room's joins
        from while it was small): those that hash to shard i are the entry's ``extra``, so a
        connection in two of its rooms still gets it once, and no shard carries them all."""
        group = k.stream_pk(p.change.stream_name, p.change.group_id)
        text = encode(change_frame(p.change))
        big: dict[int, list[str]] = defaultdict(list)  # shard count → big room keys
        for r in change_rooms:
            if views[r].big:
                big[views[r].shards].append(k.room(*r))
        # Every shard-0 subscriber: a small room's, and a big room's joins from while it was small.
        small = set().union(*(views[r].connections for r in change_rooms))
        # (Two shard counts in one change only after FanoutShards changed between two rooms'
        # growth: each count has its own units, and a connection in both may then get it twice.)
        for shards, room_keys in sorted(big.items()):
            extra: dict[int, list[str]] = defaultdict(list)
            for connection_id in small:
                extra[k.shard_of(connection_id, shards)].append(connection_id)
            for shard in range(1, shards + 1):
                unit = units.setdefault((group, shards, shard), Unit(group, shards, shard))
                unit.entries.append(Entry(p.sequence_number, text, tuple(room_keys), tuple(sorted(extra[shard])),
                                          p.trace_id))
            small = set()  # the first count's units carry them


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
        fanout = Fanout(bootstrap.subscriptions(), bootstrap.pusher(), log,
                        bootstrap.settings().limits.push_concurrency, queue=bootstrap.delivery_queue())
    except MotiaError as exc:
        log.exception(f"the fan-out function is not configured; failing the batch: {exc}")
        return {"batchItemFailures": [{"itemIdentifier": p.sequence_number} for p in pending]}
    result = fanout.deliver(pending)
    # EMF: frames pushed, gone connections, latency (metrics.py)
    publish_fanout(result, pending, bootstrap.settings().metrics_namespace)
    log.info("batch pushed", records=len(records), changes=len(pending), frames=result.frames, queued=result.queued,
             connections=result.connections, gone=len(result.gone), failed=len(result.failed),
             traceIds=sorted({p.trace_id for p in pending if p.trace_id}))
    return {"batchItemFailures": [{"itemIdentifier": s} for s in result.failed]}

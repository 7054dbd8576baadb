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
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...adapters.aws.pusher import ApiGatewayPusher, push_concurrency
from ...adapters.aws.streams import change_from_record, trace_id_of
from ...adapters.aws.subscriptions import DynamoDBSubscriptions
from ...errors import ConnectionGoneError, ConnectionThrottledError, FrameTooLargeError, MotiaError
from ...log import StepLogger
from ...ports.streams import StreamChange
from ...protocol import FRAME_TOO_LARGE, Room, change_frame, encode, error_frame, rooms_for
from . import bootstrap

# Posts run on push_concurrency() threads (MOTIA_PUSH_CONCURRENCY, default 64; why 64: see the
# pusher). The subscriber queries, one per room, are CPU-bound in botocore (~1.3 ms each against
# ~5 ms on the wire), so a few threads keep them flowing and more would only wait for the GIL; 10 is
# also the DynamoDB client's connection pool (botocore's default), so none is opened per query.
MAX_WORKERS = push_concurrency()
QUERY_WORKERS = 10


@dataclass(frozen=True, slots=True)
class PendingChange:
    sequence_number: str
    change: StreamChange
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class _Frame:
    sequence_number: str
    text: str
    change: StreamChange


@dataclass
class FanoutResult:
    failed: list[str] = field(default_factory=list)  # sequence numbers, in record order
    frames: int = 0
    connections: int = 0
    gone: list[str] = field(default_factory=list)


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
                 max_workers: int | None = None, query_workers: int = QUERY_WORKERS) -> None:
        self.subscriptions = subscriptions
        self.pusher = pusher
        self.log = log
        self.max_workers = max_workers or push_concurrency()
        self.query_workers = query_workers

    def _members(self, room: Room) -> set[str] | None:
        try:
            return self.subscriptions.connections_in_room(*room)
        except MotiaError as exc:
            self.log.error(f"subscriber lookup failed for room {room}: {exc}")
            return None

    def _too_large(self, connection_id: str, frame: _Frame, exc: FrameTooLargeError) -> None:
        change = frame.change
        self.log.error(f"change not pushed to {connection_id}: {exc}; not retried", connectionId=connection_id,
                       stream=change.stream_name, groupId=change.group_id, id=change.id, type=change.type,
                       bytes=len(frame.text.encode()))
        what = f"{change.stream_name}/{change.group_id}" + (f"/{change.id}" if change.id else "")
        notice = error_frame(FRAME_TOO_LARGE, f"A {change.type} of {what} was too large to push "
                             f"({len(frame.text.encode())} bytes); read it again instead", change.timestamp,
                             change.stream_name, change.group_id, change.id)
        try:
            self.pusher.post(connection_id, encode(notice))
        except MotiaError as notice_exc:
            self.log.warning(f"could not tell {connection_id} about the dropped frame: {notice_exc}")

    def _send(self, connection_id: str, frames: list[_Frame]) -> tuple[bool, list[str]]:
        """Post a connection's frames in order; returns (gone, sequence numbers not delivered)."""
        for index, frame in enumerate(frames):
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
        looked_up = parallel(lambda room: self._members(room) if room is not None else self._ledger(
            pending[0].sequence_number), [None, *rooms], self.query_workers)
        earlier: dict[str, set[str]] = looked_up[0]
        members: dict[Room, set[str] | None] = dict(zip(rooms, looked_up[1:], strict=True))
        outbox: dict[str, list[_Frame]] = defaultdict(list)
        for p in pending:
            change_rooms = rooms_for(p.change)
            if any(members[r] is None for r in change_rooms):
                failed.add(p.sequence_number)
                continue
            targets = set().union(*(members[r] or set() for r in change_rooms))
            targets -= earlier.get(p.sequence_number, set())  # got it in an earlier attempt
            if not targets:
                continue
            frame = _Frame(p.sequence_number, encode(change_frame(p.change)), p.change)
            for connection_id in targets:
                outbox[connection_id].append(frame)
            self.log.debug("pushing change", traceId=p.trace_id, stream=p.change.stream_name,
                           groupId=p.change.group_id, id=p.change.id, type=p.change.type, connections=len(targets))
        delivered: dict[str, set[str]] = defaultdict(set)  # sequence number → connections that got it
        if outbox:
            outcomes = parallel(lambda item: self._send(*item), list(outbox.items()), self.max_workers)
            for (connection_id, frames), (gone, undelivered) in zip(outbox.items(), outcomes, strict=True):
                if gone:
                    result.gone.append(connection_id)
                    continue
                failed.update(undelivered)
                result.frames += len(frames) - len(undelivered)
                for frame in frames:
                    if frame.sequence_number not in undelivered:
                        delivered[frame.sequence_number].add(connection_id)
        if failed:
            self._record_ledger(pending, failed, earlier, delivered)
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

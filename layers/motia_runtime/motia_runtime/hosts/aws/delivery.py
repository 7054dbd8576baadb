"""Lambda entry of the big-room delivery workers: SQS FIFO messages in, posts to one shard's subscribers out.

Handler string: ``motia_runtime.hosts.aws.delivery.handler`` (event source: the delivery queue,
FIFO, ``BatchSize`` 1, ``ReportBatchItemFailures``). A message is one unit's (a stream group
shard's) entries in stream order (``adapters/aws/delivery_queue.py``); SQS hands a unit's
messages over one at a time and in order, and the units of a room run in parallel.

Per message: the unit's ledger is read (``done``: the last sequence number every subscriber got;
``partial``: who already got the later ones), entries at or below ``done`` are skipped, the
shard's subscribers of each big room are queried once, and each connection gets its frames in
entry order, one copy per entry (rooms and ``extra`` united), from ``MOTIA_PUSH_CONCURRENCY``
threads, as the one-hop fan-out posts (``Fanout.send_in_order``: 410 removes the connection, 413
sends a ``FRAME_TOO_LARGE`` notice, 429 is retried with backoff by the pusher).

Exactly once, in order, per connection:

* A connection whose post fails (429 past the pusher's retries, an error) gets nothing more from
  this message, so it never receives a later frame before an earlier one; the others go on.
* Posts stop ``TIMEOUT_MARGIN_S`` before the function's timeout (``context``'s remaining time),
  so a message too big for one invocation ends cleanly instead of being cut off.
* Either way the ledger is written with what was delivered and the message is reported failed:
  SQS makes it visible again after the queue's visibility timeout (the back-off) and the retry
  posts only what is missing. A redelivered or re-sent message (a stream retry) finds its
  entries in the ledger and posts nothing twice. Only a crash between a post and the ledger
  write (the process killed, not a timeout) can repeat the frames in flight; Motia's clients
  drop a repeated item change by its timestamp and a repeated event by its ``eventId``.
* A slow client cannot hold up its shard for ever: from the ``MOTIA_DELIVERY_ATTEMPTS``-th
  receive (default 3, under the queue's ``maxReceiveCount``) the connections still behind are
  disconnected (their subscriptions removed, the connection closed) so the shard moves on; the
  client reconnects and joins again with ``since`` (replay) or a fresh ``sync``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ...adapters.aws.delivery_queue import Message
from ...adapters.aws.subscriptions import DynamoDBSubscriptions
from ...errors import MotiaError
from ...limits import DEFAULTS
from ...log import StepLogger
from . import _gc, bootstrap
from .fanout import QUERY_WORKERS, Fanout, Frame, parallel

DEFAULT_ATTEMPTS = DEFAULTS.delivery_attempts  # MOTIA_DELIVERY_ATTEMPTS (limits.py)
TIMEOUT_MARGIN_S = 5.0  # stop starting posts this long before Lambda's timeout


@dataclass
class Outcome:
    ok: bool
    posts: int = 0
    connections: int = 0
    skipped: int = 0  # entries already delivered (the ledger)
    gone: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # slow connections disconnected


class Worker:
    def __init__(self, subscriptions: DynamoDBSubscriptions, fanout: Fanout, log: StepLogger,
                 attempts: int = DEFAULT_ATTEMPTS) -> None:
        self.subscriptions = subscriptions
        self.fanout = fanout
        self.log = log
        self.attempts = attempts

    def process(self, message: Message, receive_count: int = 1, deadline: float | None = None) -> Outcome:
        done, partial = self.subscriptions.read_delivery(message.unit)
        entries = [e for e in message.entries if int(e.sequence_number) > done]
        outcome = Outcome(ok=True, skipped=len(message.entries) - len(entries))
        if not entries:
            return outcome
        rooms = sorted({room for e in entries for room in e.rooms})
        members = dict(zip(rooms, parallel(lambda room: self.subscriptions.connections_in_shard(room, message.shard),
                                           rooms, QUERY_WORKERS), strict=True))
        outbox: dict[str, list[Frame]] = defaultdict(list)
        for e in entries:
            targets = set(e.extra).union(*(members[room] for room in e.rooms))
            targets -= partial.get(int(e.sequence_number), set())
            frame = Frame(e.sequence_number, e.frame)
            for connection_id in targets:
                outbox[connection_id].append(frame)
        outcome.connections = len(outbox)
        results = parallel(lambda item: self.fanout.send_in_order(item[0], item[1], deadline), list(outbox.items()),
                           self.fanout.max_workers)
        delivered: dict[int, set[str]] = {int(e.sequence_number): set(partial.get(int(e.sequence_number), set()))
                                          for e in entries}
        behind: dict[str, set[int]] = {}
        for (connection_id, frames), (gone, undelivered) in zip(outbox.items(), results, strict=True):
            if gone:
                outcome.gone.append(connection_id)
                continue
            missing = {int(seq) for seq in undelivered}
            outcome.posts += len(frames) - len(missing)
            for frame in frames:
                if int(frame.sequence_number) not in missing:
                    delivered[int(frame.sequence_number)].add(connection_id)
            if missing:
                behind[connection_id] = missing
        last = int(entries[-1].sequence_number)
        if behind and receive_count >= self.attempts:
            self._drop(message, behind)
            outcome.dropped = sorted(behind)
            behind = {}
        if not behind:
            self._write(message.unit, last, {})
            return outcome
        # The ledger moves ``done`` to the last entry every connection got; later entries keep
        # who got them, so the retry posts each connection exactly what it is missing.
        lagging = set().union(*behind.values())
        new_done = done
        later: dict[int, set[str]] = {}
        for e in entries:
            seq = int(e.sequence_number)
            if not later and seq not in lagging:
                new_done = seq
            else:
                later[seq] = delivered[seq]
        self._write(message.unit, new_done, later)
        outcome.ok = False
        return outcome

    def _write(self, unit: str, done: int, partial: dict[int, set[str]]) -> None:
        try:
            if not self.subscriptions.write_delivery(unit, done, partial):
                self.log.warning(f"delivery ledger of {unit} too large to store; a retry may repeat frames")
        except MotiaError as exc:
            self.log.warning(f"delivery ledger of {unit} not written, a retry may repeat frames: {exc}")

    def _drop(self, message: Message, behind: dict[str, set[int]]) -> None:
        for connection_id, missing in behind.items():
            self.log.error(f"connection {connection_id} is still {len(missing)} frame(s) behind after "
                           f"{self.attempts} attempts; disconnecting it so its shard can go on",
                           connectionId=connection_id, unit=message.unit)
            try:
                self.subscriptions.remove_connection(connection_id)
                self.fanout.pusher.close(connection_id)
            except MotiaError as exc:
                self.log.warning(f"could not disconnect {connection_id}: {exc}")


def _deadline(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.monotonic() + float(remaining()) / 1000 - TIMEOUT_MARGIN_S


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    log = bootstrap.logger(entry="delivery")
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        log.error("malformed SQS event: no 'Records' list; nothing to deliver")
        return {"batchItemFailures": []}
    ids = [r.get("messageId") for r in records if isinstance(r, dict)]
    try:
        subscriptions = bootstrap.subscriptions()
        limits = bootstrap.settings().limits
        fanout = Fanout(subscriptions, bootstrap.pusher(), log, limits.push_concurrency)
        worker = Worker(subscriptions, fanout, log, limits.delivery_attempts)
    except MotiaError as exc:
        log.exception(f"the delivery function is not configured; failing the batch: {exc}")
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
    deadline = _deadline(context)
    failed: list[str] = []
    failed_groups: set[str] = set()
    for record in records:  # FIFO: in order; once a unit fails, its later messages wait for it
        attributes = record.get("attributes") or {}
        group = attributes.get("MessageGroupId", "")
        if group in failed_groups:
            failed.append(record["messageId"])
            continue
        try:
            message = Message.parse(record.get("body") or "")
            outcome = worker.process(message, int(attributes.get("ApproximateReceiveCount") or 1), deadline)
        except MotiaError as exc:  # unreadable, or a table failure: retried, then dead-lettered
            log.exception(f"delivery message failed: {exc}", messageId=record.get("messageId"))
            outcome = None
        if outcome is None or not outcome.ok:
            failed.append(record["messageId"])
            failed_groups.add(group)
        if outcome is not None:
            log.info("unit delivered" if outcome.ok else "unit partly delivered; reported for retry",
                     unit=message.unit, posts=outcome.posts, connections=outcome.connections,
                     skipped=outcome.skipped, gone=len(outcome.gone), dropped=len(outcome.dropped))
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


_gc.resume()  # the entry module is imported: the collector is back on (see _gc.py)

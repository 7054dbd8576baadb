"""The big-room fan-out's second hop: delivery work on an SQS FIFO queue (docs/scaling.md).

The stream consumer (``hosts/aws/fanout.py``) turns each change to a big room into one *entry*
per shard of the room; a shard's entries go, in stream order, into messages of one *unit*
(``<hash of the stream group>.<shards>.<shard>``), which is the message's ``MessageGroupId``:
SQS FIFO hands a group's messages to one delivery invocation at a time, in order, while the
units of a room are served in parallel (``hosts/aws/delivery.py``).

Why SQS FIFO: it is the AWS-native queue that keeps order per key (the message group) and
scales out across keys (Lambda runs one batch per active group at a time, as many groups at
once as there is concurrency), with partial batch failures and a dead-letter queue. A unit's
traffic stays far under its limit (300 messages/s per group): one message per stream batch of
the group, ~4 per second. Kinesis would keep order per shard too but needs provisioned shards
sized for the peak and its own consumer; asynchronous Lambda invocations or SNS to Lambda keep
no order.

An entry carries the frame itself (the consumer encoded it once), the big rooms it goes to,
and ``extra``: the subscribers of the change's small rooms that fall in this shard, so a
connection that holds both a small and a big room of one change still gets it once.

A message holds up to ``MAX_MESSAGE_BYTES`` of entries (SQS takes 256 KB per message and per
batch call). The deduplication id is derived from the unit and its entries' sequence numbers,
so the consumer sending the same work again within five minutes (a stream retry) is dropped by
SQS; beyond that, the delivery ledger skips what was already delivered.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import MotiaError
from . import _client
from ._client import LazyClient

if TYPE_CHECKING:  # the dev extra's boto3-stubs
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

MAX_MESSAGE_BYTES = 200 * 1024  # under SQS's 256 KB, with room for the envelope
_BATCH_BYTES = 240 * 1024  # SendMessageBatch caps the whole call at 256 KB
_BATCH = 10
_SENDERS = 8  # batch calls in flight at once


@dataclass(frozen=True, slots=True)
class Entry:
    sequence_number: str
    frame: str  # the encoded frame, posted as it is
    rooms: tuple[str, ...]  # big room keys (keys.room) whose shard subscribers get it
    extra: tuple[str, ...] = ()  # connections of the change's small rooms in this shard
    trace_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.sequence_number, "frame": self.frame, "rooms": list(self.rooms)}
        if self.extra:
            out["extra"] = list(self.extra)
        if self.trace_id:
            out["traceId"] = self.trace_id
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Entry:
        return cls(str(raw["seq"]), str(raw["frame"]), tuple(raw["rooms"]), tuple(raw.get("extra") or ()),
                   raw.get("traceId"))


@dataclass
class Unit:
    """One shard of a stream group's big rooms: what one message group carries."""

    group: str  # keys.stream_pk of the stream group
    shards: int
    shard: int
    entries: list[Entry] = field(default_factory=list)

    @property
    def id(self) -> str:
        return unit_id(self.group, self.shards, self.shard)


def unit_id(group: str, shards: int, shard: int) -> str:
    # A MessageGroupId is at most 128 characters: a group id may be longer, so it is hashed.
    return f"{hashlib.sha256(group.encode()).hexdigest()[:32]}.{shards}.{shard}"


@dataclass(frozen=True, slots=True)
class Message:
    unit: str
    group: str
    shards: int
    shard: int
    entries: tuple[Entry, ...]

    def body(self) -> str:
        return json.dumps({"unit": self.unit, "group": self.group, "shards": self.shards, "shard": self.shard,
                           "entries": [e.to_json() for e in self.entries]}, separators=(",", ":"))

    @classmethod
    def parse(cls, body: str) -> Message:
        try:
            raw = json.loads(body)
            return cls(str(raw["unit"]), str(raw["group"]), int(raw["shards"]), int(raw["shard"]),
                       tuple(Entry.from_json(e) for e in raw["entries"]))
        except (ValueError, TypeError, KeyError) as exc:
            raise MotiaError(f"not a delivery message: {type(exc).__name__}: {exc}") from None

    def dedup_id(self) -> str:
        first, last = self.entries[0].sequence_number, self.entries[-1].sequence_number
        return hashlib.sha256(f"{self.unit}:{first}:{last}:{len(self.entries)}".encode()).hexdigest()


def messages_of(unit: Unit) -> list[Message]:
    """A unit's entries cut into messages under MAX_MESSAGE_BYTES, in order."""
    out: list[Message] = []
    chunk: list[Entry] = []
    size = 0
    for entry in unit.entries:
        entry_size = len(json.dumps(entry.to_json())) + 1
        if chunk and size + entry_size > MAX_MESSAGE_BYTES:
            out.append(Message(unit.id, unit.group, unit.shards, unit.shard, tuple(chunk)))
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        out.append(Message(unit.id, unit.group, unit.shards, unit.shard, tuple(chunk)))
    return out


class DeliveryQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client: LazyClient[SQSClient] = LazyClient("sqs", client)
        self.errors: list[str] = []  # why messages were refused, for the caller's log

    def send(self, units: list[Unit]) -> set[str]:
        """Send every unit's messages, each unit's in order; returns the sequence numbers of the
        entries that were not sent (a unit stops at its first failed message, so that nothing
        of it is sent out of order). Each round takes the next message of every unit, packed into
        batch calls that go out side by side (a big room's 64 shards are 7 calls: one round trip,
        not seven)."""
        pending = [messages_of(u) for u in units if u.entries]
        failed: set[str] = set()
        cursor = [0] * len(pending)
        while True:
            batches: list[list[tuple[int, Message, str]]] = [[]]
            size = 0
            for index, messages in enumerate(pending):
                if cursor[index] >= len(messages):
                    continue
                message = messages[cursor[index]]
                body = message.body()
                if batches[-1] and (len(batches[-1]) == _BATCH or size + len(body) > _BATCH_BYTES):
                    batches.append([])
                    size = 0
                batches[-1].append((index, message, body))
                size += len(body)
            if not batches[-1]:
                return failed
            if len(batches) == 1:
                refusals = [self._send_batch(batches[0])]
            else:
                with ThreadPoolExecutor(min(len(batches), _SENDERS), thread_name_prefix="motia-delivery-send") as pool:
                    refusals = list(pool.map(self._send_batch, batches))
            for batch, refused in zip(batches, refusals, strict=True):
                for index, message, _ in batch:
                    if message.dedup_id() in refused:
                        for later in pending[index][cursor[index]:]:
                            failed.update(e.sequence_number for e in later.entries)
                        cursor[index] = len(pending[index])
                    else:
                        cursor[index] += 1

    def _send_batch(self, batch: list[tuple[int, Message, str]]) -> set[str]:
        """The dedup ids of the messages SQS did not take."""
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "MessageBody": body, "MessageGroupId": message.unit,
             "MessageDeduplicationId": message.dedup_id()} for n, (_, message, body) in enumerate(batch)]
        try:
            out = self._client.get().send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except _client.AWS_ERRORS as exc:
            self.errors.append(f"SQS SendMessageBatch on {self.queue_url} failed: {exc}")
            return {message.dedup_id() for _, message, _ in batch}
        refused = out.get("Failed") or []
        self.errors += [f"SQS refused a delivery message: {f.get('Code')}: {f.get('Message')}" for f in refused]
        return {batch[int(f["Id"])][1].dedup_id() for f in refused}

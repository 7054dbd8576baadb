"""Reading a table's DynamoDB stream and handing its records to the fan-out, as Lambda's event
source mapping does (moto's own mapping would swallow the records, so none is created)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from . import lambda_events as ev

STREAM_BATCH = 100


class StreamPump:
    """Tracks a shard iterator per shard (from TRIM_HORIZON) and a backlog of records to push.

    A partial batch failure is retried from the first failed record on the next ``pump()``,
    the way Lambda checkpoints a stream; after ``max_retries`` retries the record is dropped
    into ``dropped`` (Lambda's MaximumRetryAttempts, then the on-failure destination).
    """

    def __init__(self, client: Any, stream_arns: list[str], invoke: Callable[[dict[str, Any]], Any],
                 batch_size: int = STREAM_BATCH, max_retries: int = 3) -> None:
        self.client = client
        self.stream_arns = stream_arns
        self.invoke = invoke
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.dropped: list[dict[str, Any]] = []
        self._iterators: dict[tuple[str, str], str | None] = {}
        self._backlog: list[dict[str, Any]] = []
        self._attempts: dict[str, int] = defaultdict(int)
        for arn in stream_arns:
            self._open_shards(arn)

    def _open_shards(self, stream_arn: str) -> None:
        for shard in self.client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
            key = (stream_arn, shard["ShardId"])
            if key not in self._iterators:
                self._iterators[key] = self.client.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def read(self) -> list[dict[str, Any]]:
        """New records of every shard, as Lambda event records."""
        for arn in self.stream_arns:
            self._open_shards(arn)
        out: list[dict[str, Any]] = []
        for (arn, shard_id), iterator in list(self._iterators.items()):
            while iterator:
                page = self.client.get_records(ShardIterator=iterator)
                out.extend(ev.dynamodb_record(r, arn) for r in page.get("Records", []))
                self._iterators[(arn, shard_id)] = iterator = page.get("NextShardIterator")
                if not page.get("Records"):
                    break
        return out

    @property
    def pending(self) -> int:
        """Records read but not yet handed over successfully (a failed batch waits here)."""
        return len(self._backlog)

    def pump(self) -> int:
        """Hand new records to the fan-out; returns how many records it was given."""
        self._backlog.extend(self.read())
        handed = 0
        while self._backlog:
            batch = self._backlog[:self.batch_size]
            result = self.invoke({"Records": batch})
            handed += len(batch)
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
            if not failed:
                del self._backlog[:len(batch)]
                continue
            first = min((sequences.index(s) for s in failed if s in sequences), default=0)
            del self._backlog[:first]  # checkpoint before the first failure
            self._attempts[sequences[first]] += 1
            if self._attempts[sequences[first]] > self.max_retries:
                self.dropped.append(self._backlog.pop(0))
            break  # the rest is retried on the next pump
        return handed

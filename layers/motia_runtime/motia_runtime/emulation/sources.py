"""Event sources as Lambda runs them, each in its own thread: SQS queues → their function, a
table's DynamoDB stream → its function, schedules → their function.

- SQS: up to the function's concurrency cap (or ``ScalingConfig.MaximumConcurrency``) batches in
  flight; a batch is up to ``BatchSize`` (at most 10) messages. Succeeded messages are deleted;
  with ``ReportBatchItemFailures`` only the listed ones stay, a function error leaves them all.
  What stays comes back when its visibility timeout ends (or when the function changed it:
  ``ChangeMessageVisibility``), and moto moves a message received ``maxReceiveCount`` times to
  the DLQ. FIFO queues: moto holds back a message group while one of its messages is in flight.
- DynamoDB streams: the shards are read as the mapping reads them (``testing.pump.StreamPump``,
  shared with CloudSim), in order, one batch in flight per shard; a failure retries from the first
  failed record, ``MaximumRetryAttempts`` times, then the record goes to the ``OnFailure``
  destination queue (a message describing it, as Lambda sends).
- Schedules: ``cron(...)`` (AWS's six fields, day-of-week 1-7 from Sunday) and ``rate(...)``, in
  UTC; ``run_now`` fires one at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any

from ..testing import lambda_events as ev
from ..testing.pump import StreamPump
from ..testing.resources import QueueInfo
from .lambda_pool import Invocation
from .template import Schedule, SqsSource, StreamSource

Invoke = Callable[[str, dict[str, Any]], Invocation]
# Short polls, then a pause a finished invocation cuts short (a new message usually comes from
# one): moto's long poll spins while a queue holds only in-flight messages.
IDLE_POLL_S = 0.5
UNLIMITED_RETRIES = 10_000  # MaximumRetryAttempts -1 (until the record expires, a day on AWS)


class MotoPeek:
    """Whether a poll would find anything, read from the moto running in this process, so an idle
    source makes no request. A poll over HTTP (boto, then moto's werkzeug server, both in this
    process) costs ~4 ms of CPU: the repository's app (14 queues polled twice a second, 4 streams
    four times with two calls each) kept an idle ``motia cloud`` at ~0.27 of a core. The peek reads
    moto's models without a request; the poll itself, when the peek says there is something, is the
    same request as before. Each answer is True, False, or None when moto's internals are not what
    this reads (another moto version): then the source polls as it did without the peek."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def queue_has_visible(self, queue_url: str) -> bool | None:
        """A message that ReceiveMessage could return now (visible, not delayed)."""
        try:
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[self.account][self.region].queues[queue_url.rstrip("/").rsplit("/", 1)[1]]
            return any(m.visible and not m.delayed for m in list(queue._messages))
        except Exception:
            return None

    def stream_length(self, stream_arn: str) -> int | None:
        """How many records the table's stream has had (moto appends, never trims)."""
        try:
            from moto.dynamodb.models import dynamodb_backends

            table = stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
            shard = dynamodb_backends[self.account][self.region].tables[table].stream_shard
            return None if shard is None else len(shard.items)
        except Exception:
            return None


class SqsPoller(threading.Thread):
    def __init__(self, source: SqsSource, queue: QueueInfo, sqs: Any, invoke: Invoke, executor: Executor,
                 concurrency: int, region: str, wake: threading.Event, stop: threading.Event,
                 peek: MotoPeek | None = None) -> None:
        super().__init__(name=f"sqs-{source.function}", daemon=True)
        self.source, self.queue, self.sqs, self.invoke, self.peek = source, queue, sqs, invoke, peek
        self.executor, self.region, self.wake, self.stop = executor, region, wake, stop
        # MaximumConcurrency bounds the batches in flight, within the function's environments.
        self._slots = threading.Semaphore(max(1, min(source.max_concurrency or concurrency, concurrency)))

    def run(self) -> None:
        while not self.stop.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            if self.peek is not None and self.peek.queue_has_visible(self.queue.url) is False:
                self._slots.release()
                self.wake.wait(IDLE_POLL_S)
                self.wake.clear()
                continue
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue.url, MaxNumberOfMessages=min(self.source.batch_size, 10),
                    WaitTimeSeconds=0, MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"]).get("Messages", [])
            except Exception:
                messages = []
                self.stop.wait(1)  # moto stopping, or a hiccup: try again
            if not messages:
                self._slots.release()
                self.wake.wait(IDLE_POLL_S)
                self.wake.clear()
                continue
            self.executor.submit(self._batch, messages)

    def _batch(self, messages: list[dict[str, Any]]) -> None:
        try:
            records = [ev.sqs_record(m, self.queue.arn, self.region) for m in messages]
            for record, message in zip(records, messages, strict=True):
                record["messageAttributes"] = {k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
                                               for k, v in (message.get("MessageAttributes") or {}).items()}
            result = self.invoke(self.source.function, {"Records": records})
            ids = {m["MessageId"] for m in messages}
            if not result.ok:
                failed = ids
            elif self.source.report_failures and isinstance(result.payload, dict):
                failed = {str(f.get("itemIdentifier")) for f in result.payload.get("batchItemFailures") or []}
                if not failed <= ids:  # an unknown or empty identifier fails the whole batch, as Lambda does
                    failed = ids
            else:
                failed = set()
            done = [m for m in messages if m["MessageId"] not in failed]
            if done and not self.stop.is_set():
                self.sqs.delete_message_batch(QueueUrl=self.queue.url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        except Exception:
            if not self.stop.is_set():
                raise
        finally:
            self._slots.release()


class StreamPoller(threading.Thread):
    def __init__(self, source: StreamSource, stream_arn: str, streams: Any, sqs: Any, invoke: Invoke,
                 on_failure: QueueInfo | None, poll_s: float, wake: threading.Event, stop: threading.Event,
                 peek: MotoPeek | None = None) -> None:
        super().__init__(name=f"stream-{source.function}", daemon=True)
        self.source, self.stream_arn, self.sqs, self.invoke, self.peek = source, stream_arn, sqs, invoke, peek
        self.on_failure, self.poll_s, self.wake, self.stop = on_failure, poll_s, wake, stop
        retries = source.max_retries if source.max_retries >= 0 else UNLIMITED_RETRIES
        self.pump = StreamPump(streams, [stream_arn], self._invoke, batch_size=source.batch_size, max_retries=retries)

    def _invoke(self, event: dict[str, Any]) -> Any:
        result = self.invoke(self.source.function, event)
        if result.ok and self.source.report_failures:
            return result.payload
        if result.ok:
            return None
        # A function error retries the batch from its first record.
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]}

    def run(self) -> None:
        sent = 0
        read_up_to: int | None = None  # the stream's length before the last pump that read it whole
        while not self.stop.is_set():
            length = self.peek.stream_length(self.stream_arn) if self.peek is not None else None
            if length is not None and length == read_up_to and not self.pump.pending:
                self.wake.wait(self.poll_s)  # nothing written since: no request
                self.wake.clear()
                continue
            try:
                handed = self.pump.pump()
                read_up_to = length
            except Exception:
                if self.stop.is_set():
                    return
                handed = 0
                self.stop.wait(1)
            while sent < len(self.pump.dropped):
                self._send_failure(self.pump.dropped[sent])
                sent += 1
            if self.pump.pending:  # a failed batch: retried after a pause
                self.stop.wait(self.poll_s)
            elif not handed:  # Lambda polls a shard four times a second; a finished invocation wakes it
                self.wake.wait(self.poll_s)
                self.wake.clear()

    def _send_failure(self, record: dict[str, Any]) -> None:
        if self.on_failure is None:
            return
        sequence = record["dynamodb"]["SequenceNumber"]
        body = {"requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount":
                                   self.pump.max_retries + 1, "functionArn": self.source.function},
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"}, "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(),
                "DDBStreamBatchInfo": {"shardId": "", "startSequenceNumber": sequence, "endSequenceNumber": sequence,
                                       "batchSize": 1, "streamArn": self.stream_arn}}
        self.sqs.send_message(QueueUrl=self.on_failure.url, MessageBody=json.dumps(body))


_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")


def next_fire(expression: str, after: datetime) -> datetime:
    """When a ``cron(...)`` or ``rate(...)`` schedule fires next after ``after`` (UTC)."""
    rate = _RATE.fullmatch(expression)
    if rate:
        unit = rate.group(2).rstrip("s")
        return after + timedelta(**{f"{unit}s": int(rate.group(1))})
    from croniter import croniter

    fields = expression[len("cron("):-1].split()
    if len(fields) != 6:
        raise ValueError(f"{expression!r}: AWS cron has six fields")
    minute, hour, dom, month, dow, _year = fields
    dow = re.sub(r"\d+", lambda m: str((int(m.group()) - 1) % 7), dow)  # AWS 1-7 from SUN; cron 0-6
    spec = " ".join("*" if f == "?" else f for f in (minute, hour, dom, month, dow))
    nxt: datetime = croniter(spec, after).get_next(datetime)
    return nxt


class Scheduler(threading.Thread):
    def __init__(self, schedules: list[Schedule], rule_arn: Callable[[Schedule], str], invoke: Invoke,
                 executor: Executor, region: str, stop: threading.Event) -> None:
        super().__init__(name="schedules", daemon=True)
        self.schedules = [s for s in schedules if s.enabled]
        self.rule_arn, self.invoke, self.executor, self.region, self.stop = rule_arn, invoke, executor, region, stop

    def run_now(self, name: str) -> Invocation:
        for schedule in self.schedules:
            if schedule.name == name or schedule.function == name:
                return self.invoke(schedule.function, ev.scheduled(self.rule_arn(schedule), self.region))
        raise KeyError(name)

    def run(self) -> None:
        now = datetime.now(UTC)
        due = {s.name: next_fire(s.expression, now) for s in self.schedules}
        while self.schedules and not self.stop.is_set():
            name = min(due, key=lambda n: due[n])
            wait = (due[name] - datetime.now(UTC)).total_seconds()
            if wait > 0:
                self.stop.wait(min(wait, 60))
                continue
            schedule = next(s for s in self.schedules if s.name == name)
            self.executor.submit(self.invoke, schedule.function, ev.scheduled(self.rule_arn(schedule), self.region))
            due[name] = next_fire(schedule.expression, due[name])
            time.sleep(0)

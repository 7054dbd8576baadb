"""The queue entry point reports a batch's failures as Powertools' batch utility did.

It used ``AsyncBatchProcessor`` (standard queues) and ``SqsFifoPartialProcessor(skip_group_on_error=
True)`` (FIFO queues), whose import costs a sixth of the function's cold start; it now runs the
records itself. Here both run the same batches, each record succeeding or failing (after a few turns
of the event loop, so failures happen in another order than the records'), and must answer the same.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    async_process_partial_response,
    process_partial_response,
)

from motia_runtime.hosts.aws import bootstrap, queue


def record(message_id: str, fails: bool, turns: int, group: str | None = None) -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": "1", **({"MessageGroupId": group} if group else {})}
    source = "arn:aws:sqs:us-east-1:123456789012:q" + (".fifo" if group else "")
    return {"messageId": message_id, "body": f"{int(fails)}:{turns}", "attributes": attributes,
            "eventSource": "aws:sqs", "eventSourceARN": source}


async def outcome(body: str, ran: list[str], message_id: str) -> None:
    fails, turns = body.split(":")
    # Give the loop a number of turns rather than sleep: records then finish in another order than
    # theirs, the same order in both runs (timers a millisecond apart could swap on a busy machine).
    for _ in range(int(turns)):
        await asyncio.sleep(0)
    ran.append(message_id)
    if fails == "1":
        raise RuntimeError("the step failed")


def ours(event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[str]]:
    ran: list[str] = []

    async def handle(runtime: Any, step: Any, rec: dict[str, Any]) -> None:
        await outcome(rec["body"], ran, rec["messageId"])

    monkeypatch.setattr(queue, "_handle", handle)
    monkeypatch.setattr(queue, "_retry_later", lambda *args: asyncio.sleep(0))  # no queue here
    monkeypatch.setattr(bootstrap, "runtime", lambda **_: None)
    monkeypatch.setattr(bootstrap, "step", lambda kind: None)
    return queue.handler(event), ran


def powertools(event: dict[str, Any], fifo: bool) -> tuple[dict[str, Any], list[str]]:
    ran: list[str] = []
    if fifo:
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        processor.raise_on_entire_batch_failure = False

        def sync_record(record: Any) -> None:  # Powertools passes it as record=
            bootstrap.run(outcome(record.body, ran, record.message_id))

        return dict(process_partial_response(event, record_handler=sync_record, processor=processor)), ran

    async def async_record(record: Any) -> None:
        await outcome(record.body, ran, record.message_id)

    processor = AsyncBatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    bootstrap.loop()
    return dict(async_process_partial_response(event, record_handler=async_record, processor=processor)), ran


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
@pytest.mark.parametrize("seed", range(12))
def test_the_same_failures_in_the_same_order(monkeypatch: pytest.MonkeyPatch, fifo: bool, seed: int) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # Powertools then runs on the current loop, as on Lambda
    rng = random.Random(seed)
    records = [record(f"m{i}", rng.random() < 0.4, rng.choice([0, 1, 3, 5]),
                      rng.choice(["g1", "g2", "g3"]) if fifo else None) for i in range(rng.randint(1, 10))]
    if seed == 0:
        records = [{**r, "body": r["body"].replace("0:", "1:", 1)} for r in records]  # every record fails
    try:
        expected = powertools({"Records": records}, fifo)
        got = ours({"Records": records}, monkeypatch)
    finally:
        bootstrap.reset()
    assert got == expected

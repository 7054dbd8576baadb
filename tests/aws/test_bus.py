"""EventBridgeBus against moto: batching, the 256 KB limit, refused entries and the FIFO path."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from motia_runtime.adapters.aws import EventBridgeBus
from motia_runtime.adapters.aws.bus import MAX_ENTRY_BYTES
from motia_runtime.errors import EmitError
from motia_runtime.ports.events import Event
from motia_runtime.testing.resources import Resources

REGION = "us-east-1"


@pytest.fixture
def events(aws: None) -> Any:
    return boto3.client("events", region_name=REGION)


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def bus_queue(resources: Resources, events: Any, sqs: Any) -> str:
    """A queue behind a rule on topic ``t`` (what the template makes for a standard step)."""
    url = sqs.create_queue(QueueName="step-t")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="step-t", EventBusName=resources.bus_name,
                    EventPattern=json.dumps({"source": ["motia"], "detail-type": ["t"]}))
    events.put_targets(Rule="step-t", EventBusName=resources.bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    out = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          MessageSystemAttributeNames=["All"]).get("Messages", []):
        out += messages
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(messages)])
    return out


def put_events_sizes(events: Any) -> list[int]:
    sizes: list[int] = []
    events.meta.events.register("provide-client-params.events.PutEvents",
                                lambda params, **_: sizes.append(len(params["Entries"])))
    return sizes


async def test_events_are_put_ten_at_a_time_and_reach_the_rule_s_queue(resources: Resources, events: Any, sqs: Any,
                                                                      bus_queue: str) -> None:
    bus = EventBridgeBus(resources.bus_name, events_client=events)
    batches = put_events_sizes(events)
    sent = [Event("t", {"n": n}, "TRACE-1") for n in range(23)] + [Event("other", {}, "TRACE-1")]
    await bus.publish(sent)
    assert batches == [10, 10, 4]
    bodies = [json.loads(m["Body"]) for m in drain(sqs, bus_queue)]
    assert sorted(b["detail"]["data"]["n"] for b in bodies) == list(range(23))  # "other" matched no rule
    first = next(b for b in bodies if b["detail"]["data"]["n"] == 0)
    assert first["source"] == "motia" and first["detail-type"] == "t"
    assert first["detail"] == sent[0].to_envelope()


async def test_batches_also_stay_under_the_request_size_limit(resources: Resources, events: Any) -> None:
    bus = EventBridgeBus(resources.bus_name, events_client=events)
    batches = put_events_sizes(events)
    await bus.publish([Event("t", "x" * 60_000, "TRACE-1") for _ in range(5)])
    assert batches == [4, 1]


async def test_an_event_over_256_kb_is_refused_naming_topic_and_size(resources: Resources, events: Any, sqs: Any,
                                                                   bus_queue: str) -> None:
    bus = EventBridgeBus(resources.bus_name, events_client=events)
    batches = put_events_sizes(events)
    big = Event("t", "x" * MAX_ENTRY_BYTES, "T")
    with pytest.raises(EmitError) as info:
        await bus.publish([Event("t", {"n": 1}, "T"), big])
    # EventBridge's formula: 14 bytes for Time, plus Source, DetailType and Detail in UTF-8.
    size = 14 + len("motia") + len("t") + len(json.dumps(big.to_envelope(), separators=(",", ":")))
    assert str(info.value).startswith(f"event on topic 't' is {size} bytes, over EventBridge's 262144-byte limit")
    assert batches == []  # nothing was sent, not even the small event
    assert drain(sqs, bus_queue) == []


async def test_entries_eventbridge_refuses_raise(resources: Resources, events: Any) -> None:
    # moto answers an entry without a Source with a failed entry (InvalidArgument).
    bus = EventBridgeBus(resources.bus_name, events_client=events, source="")
    with pytest.raises(EmitError, match=r"refused 1 event.*'t': InvalidArgument"):
        await bus.publish([Event("t", {}, "T")])


async def test_a_missing_bus_is_an_emit_error(events: Any) -> None:
    bus = EventBridgeBus("no-such-bus", events_client=events)
    with pytest.raises(EmitError, match="no-such-bus"):
        await bus.publish([Event("t", {}, "T")])


async def test_fifo_topics_go_straight_to_their_queues_with_the_group_id(
        resources: Resources, events: Any, sqs: Any, count_calls: Callable[[Any], list[str]]) -> None:
    url = sqs.create_queue(QueueName="step-f.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    bus = EventBridgeBus(resources.bus_name, fifo_queues={"f": [url]}, events_client=events, sqs_client=sqs)
    sent = [Event("f", {"n": n}, "T", message_group_id="pet-1") for n in range(3)]
    await bus.publish(sent)
    messages = drain(sqs, url)
    assert [json.loads(m["Body"])["detail"] for m in messages] == [e.to_envelope() for e in sent]
    body = json.loads(messages[0]["Body"])
    assert (body["source"], body["detail-type"]) == ("motia", "f")
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"pet-1"}
    assert [m["Attributes"]["MessageDeduplicationId"] for m in messages] == [e.id for e in sent]
    with pytest.raises(EmitError, match="messageGroupId"):
        await bus.publish([Event("f", {}, "T")])


class ThrottlingEvents:
    """``events`` whose first PutEvents call puts only its even-numbered entries on the bus (moto's) and
    answers the odd ones with a ThrottlingException result, as EventBridge does for entries it throttled."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[list[str]] = []  # each call's entries, by their event's "n"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append([json.loads(e["Detail"])["data"]["n"] for e in Entries])
        if len(self.calls) > 1:
            return self._client.put_events(Entries=Entries)  # type: ignore[no-any-return]
        taken = self._client.put_events(Entries=Entries[::2])["Entries"]
        results = [taken[i // 2] if i % 2 == 0 else
                   {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"} for i in range(len(Entries))]
        return {"FailedEntryCount": len(Entries) // 2, "Entries": results}


async def test_throttled_entries_alone_are_put_again_and_each_event_reaches_the_queue_once(
        resources: Resources, events: Any, sqs: Any, bus_queue: str) -> None:
    # The whole emit failed before, and the step's retry put the entries that had gone on the bus again.
    throttled = ThrottlingEvents(events)
    bus = EventBridgeBus(resources.bus_name, events_client=throttled)
    await bus.publish([Event("t", {"n": n}, "T") for n in range(5)])
    assert throttled.calls == [[0, 1, 2, 3, 4], [1, 3]]
    got = sorted(json.loads(m["Body"])["detail"]["data"]["n"] for m in drain(sqs, bus_queue))
    assert got == [0, 1, 2, 3, 4]


async def test_entries_throttled_round_after_round_fail_the_emit_naming_them(
        resources: Resources, events: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from motia_runtime.adapters.aws import _client

    monkeypatch.setattr(_client, "BATCH_FIRST_PAUSE_S", 0.002)  # the same rounds, sooner

    class AlwaysThrottled(ThrottlingEvents):
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            self.calls.append([json.loads(e["Detail"])["data"]["n"] for e in Entries])
            return {"FailedEntryCount": len(Entries), "Entries": [{"ErrorCode": "ThrottlingException"}] * len(Entries)}

    throttled = AlwaysThrottled(events)
    with pytest.raises(EmitError, match=r"refused 2 event\(s\).*'t': still throttled after 8 tries"):
        await EventBridgeBus(resources.bus_name, events_client=throttled).publish(
            [Event("t", {"n": n}, "T") for n in range(2)])
    assert len(throttled.calls) == 8

"""The sample events in events/ (for ``sam local invoke -e`` and docs) are valid input to their entry points."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.testing import CloudSim

EVENTS = Path(__file__).resolve().parents[2] / "events"
CRON_STEP = '''
config = {"type": "cron", "name": "SampleTick", "cron": "0 2 * * *"}

async def handler(ctx):
    await ctx.state.set("ticks", ctx.trace_id, "ran")
'''


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@pytest.fixture
def sim(openai_project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudSim]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (openai_project / "functions" / "sample_cron").mkdir()
    (openai_project / "functions" / "sample_cron" / "tick_step.py").write_text(CRON_STEP)
    with CloudSim(openai_project) as sim:
        yield sim


def test_every_sample_is_covered() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted([
        "dynamodb-stream.json", "http-api-post-open-ai.json", "schedule.json", "sqs-delivery.json",
        "sqs-from-eventbridge.json", "ws-connect.json", "ws-join.json"])


def test_http_api_sample(sim: CloudSim) -> None:
    result = sim.invoke("api", sample("http-api-post-open-ai.json"), step="OpenAiApi")
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["__motia"]["streamName"] == "openai"
    assert sim.deliver() == 1  # it emitted openai-prompt


def test_sqs_sample(sim: CloudSim) -> None:
    assert sim.invoke("event", sample("sqs-from-eventbridge.json"), step="CallOpenAi") == {"batchItemFailures": []}
    item = sim.run(lambda runtime: runtime.streams["openai"].get("ABCDE-1234567", "message"))
    assert item["message"].endswith("fallback reply to: Tell me a joke about cats")


def test_schedule_sample(sim: CloudSim) -> None:
    result = sim.invoke("cron", sample("schedule.json"), step="SampleTick")
    assert result["ok"] is True
    assert sim.run(lambda runtime: runtime.state.get("ticks", result["traceId"])) == "ran"


def test_websocket_and_dynamodb_stream_samples(sim: CloudSim) -> None:
    connect = sample("ws-connect.json")
    connection_id = connect["requestContext"]["connectionId"]
    assert sim.invoke("websocket", connect) == {"statusCode": 200,
                                                "headers": {"Sec-WebSocket-Protocol": "Authorization"}}
    sim.recorder.open(connection_id)  # API Gateway completes the handshake
    assert sim.invoke("websocket", sample("ws-join.json")) == {"statusCode": 200}
    assert sim.recorder.frames(connection_id)[0]["event"] == {"type": "sync", "data": None}

    assert sim.invoke("fanout", sample("dynamodb-stream.json")) == {"batchItemFailures": []}
    update, typing = sim.recorder.frames(connection_id)[1:]
    assert update == {"timestamp": 1795244401300, "streamName": "openai", "groupId": "ABCDE-1234567", "id": "message",
                      "event": {"type": "update", "data": {"message": "Why do cats", "id": "message",
                                                           "_createdAt": 1795244400200}}, "version": 4}
    assert typing["event"] == {"type": "event", "event": {"type": "typing", "data": {"model": "gpt-4o-mini"}}}


def test_delivery_sample(sim: CloudSim) -> None:
    """A big room's delivery message (one shard's entries, the consumer's format): its frame reaches
    the connection it names, once, however often the message is delivered."""
    connect = sample("ws-connect.json")
    connection_id = connect["requestContext"]["connectionId"]
    sim.invoke("websocket", connect)
    sim.recorder.open(connection_id)
    for _ in range(2):  # SQS delivers at least once: the second is skipped by the delivery ledger
        assert sim.invoke("delivery", sample("sqs-delivery.json")) == {"batchItemFailures": []}
    (frame,) = sim.recorder.frames(connection_id)
    assert frame["event"]["type"] == "update" and frame["version"] == 4

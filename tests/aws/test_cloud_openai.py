"""End to end on the moto harness with the repo's OpenAI example (no OPENAI_API_KEY: it streams its
fallback text): POST /open-ai → EventBridge → SQS → the event step → stream writes → DynamoDB
stream → fan-out → frames on two WebSocket connections, one joined to the item, one to the group."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.testing import CloudSim


@pytest.fixture
def sim(openai_project: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with CloudSim(openai_project) as sim:
        yield sim


def changes(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["event"]["type"] in ("create", "update", "delete")]


def test_a_prompt_streams_the_reply_to_item_and_group_subscribers(sim: CloudSim) -> None:
    item_client, group_client = sim.connect(), sim.connect()
    response = sim.http("POST", "/open-ai", json={"message": "hello there"})
    assert response.status == 200
    body = response.json()
    trace_id = body["__motia"]["groupId"]
    assert body["message"] == "" and body["__motia"] == {"type": "state-stream", "streamName": "openai",
                                                        "groupId": trace_id, "id": "message"}
    assert response.headers["x-trace-id"] == trace_id
    item_client.join("openai", trace_id, "message")
    group_client.join("openai", trace_id)

    sim.run_until_idle()

    stored = sim.run(lambda runtime: runtime.streams["openai"].get(trace_id, "message"))
    fallback = stored["message"]
    assert fallback.startswith("OpenAI is not configured") and fallback.endswith("fallback reply to: hello there")
    item_sync, group_sync = item_client.frames[0], group_client.frames[0]
    assert item_sync["event"] == {"type": "sync", "data": {"message": "", "id": "message",
                                                           "_createdAt": body["_createdAt"]}}
    assert group_sync["event"]["type"] == "sync" and [i["id"] for i in group_sync["event"]["data"]] == ["message"]

    item_changes, group_changes = changes(item_client.frames), changes(group_client.frames)
    assert item_changes == group_changes  # one copy of each change per connection
    assert item_changes[-1]["event"] == {"type": "update", "data": {"message": fallback, "id": "message",
                                                                    "_createdAt": body["_createdAt"]}}
    updates = [f for f in item_changes if f["event"]["type"] == "update"]
    assert len(updates) == len(fallback.split(" "))  # one set per word
    messages = [f["event"]["data"]["message"] for f in updates]
    assert all(fallback.startswith(m) for m in messages) and messages == sorted(messages, key=len)
    stamps = [f["timestamp"] for f in updates]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert updates[0]["timestamp"] > item_sync["timestamp"]  # no update is dropped as stale
    assert [f["version"] for f in updates] == list(range(2, len(updates) + 2))
    assert sim.dead_letters("CallOpenAi") == []


def test_a_body_that_fails_validation_is_a_400_and_emits_nothing(sim: CloudSim) -> None:
    response = sim.http("POST", "/open-ai", json={"message": ""})
    assert response.status == 400
    assert response.json()["error"] == "Validation error"
    assert sim.deliver() == 0
    assert sim.http("GET", "/open-ai").status == 404  # no route: API Gateway's own 404

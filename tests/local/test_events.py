"""The in-process event bus: retries, dead letters, FIFO order, cron."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx


def wait_for(fn: Callable[[], Any], timeout: float = 10, interval: float = 0.05) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def state(http: httpx.Client, group: str) -> dict[str, Any]:
    return {i["key"]: i["value"] for i in http.get("/__motia/state", params={"group": group}).json()["items"]}


def test_a_failing_step_is_retried_then_succeeds(http: httpx.Client) -> None:
    key = uuid.uuid4().hex
    assert http.post("/emit/flaky", json={"data": {"key": key, "succeedOn": 3}}).status_code == 200
    assert wait_for(lambda: state(http, "flaky-done").get(key)) == 3


def test_a_step_that_keeps_failing_ends_in_the_dead_letters_and_can_be_retried(http: httpx.Client) -> None:
    key = uuid.uuid4().hex
    http.post("/emit/flaky", json={"data": {"key": key}})

    def dead() -> list[dict[str, Any]]:
        letters = http.get("/__motia/queues/dead-letters", params={"step": "Flaky"}).json()["deadLetters"]
        return [d for d in letters if d["data"]["key"] == key]

    [letter] = wait_for(dead)
    assert letter["attempts"] == 3  # maxRetries 2: the first try and two retries
    assert letter["lastError"] == "RuntimeError: flaky failure 3"
    assert letter["topic"] == "flaky" and letter["traceId"]
    assert state(http, "flaky")[key] == 3

    assert http.post(f"/__motia/queues/dead-letters/{letter['id']}/retry").json() == {"retried": True}
    wait_for(lambda: state(http, "flaky")[key] == 6)  # three more attempts
    [again] = wait_for(dead)
    assert http.delete(f"/__motia/queues/dead-letters/{again['id']}").json() == {"dropped": True}
    assert dead() == []
    assert http.delete(f"/__motia/queues/dead-letters/{again['id']}").status_code == 404


def test_input_that_breaks_the_schema_is_dead_lettered_at_once(http: httpx.Client) -> None:
    key = uuid.uuid4().hex
    http.post("/emit/typed", json={"data": {"key": key, "n": "seven"}})

    def dead() -> list[dict[str, Any]]:
        letters = http.get("/__motia/queues/dead-letters", params={"step": "Typed"}).json()["deadLetters"]
        return [d for d in letters if d["data"]["key"] == key]

    [letter] = wait_for(dead)
    assert letter["attempts"] == 1  # no retries: maxRetries 2 would have made it 3
    assert key not in state(http, "typed")
    http.post("/emit/typed", json={"data": {"key": key, "n": 7}})
    assert wait_for(lambda: state(http, "typed").get(key)) == 7


def test_fifo_keeps_order_per_message_group_through_retries(http: httpx.Client) -> None:
    groups = [uuid.uuid4().hex[:6] for _ in range(2)]
    values = ["one", "fail-once", "three", "four"]
    for value in values:
        for group in groups:
            http.post("/emit/ordered", json={"group": group, "data": {"group": group, "value": value}})
    for group in groups:
        assert wait_for(lambda g=group: len(state(http, "ordered").get(g, [])) == 4 and state(http, "ordered")[g])
        assert state(http, "ordered")[group] == values


def test_fifo_emit_without_a_message_group_is_refused(http: httpx.Client) -> None:
    response = http.post("/emit/ordered", json={"data": {"group": "x", "value": "v"}})
    assert response.status_code == 500


def test_fifo_emit_with_a_message_group_sqs_would_refuse_is_refused(http: httpx.Client) -> None:
    # SQS FIFO takes 1-128 ASCII letters, digits and punctuation: refused here as on AWS, not
    # accepted locally and refused after deploying.
    for group in ("has space", "café", "x" * 129, ""):
        response = http.post("/emit/ordered", json={"group": group, "data": {"group": group, "value": "v"}})
        assert response.status_code == 500, group
    ok = http.post("/emit/ordered", json={"group": "user:42/#ok!", "data": {"group": "user:42/#ok!", "value": "v"}})
    assert ok.status_code == 200


def test_cron_steps_run_on_schedule_each_with_a_new_trace(http: httpx.Client) -> None:
    runs = wait_for(lambda: len(state(http, "ticker").get("runs", [])) >= 2 and state(http, "ticker")["runs"])
    assert len(set(runs)) == len(runs)
    jobs = http.get("/__motia/cron").json()["jobs"]
    assert jobs[0]["name"] == "Ticker" and jobs[0]["nextRun"]

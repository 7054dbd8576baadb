"""Malformed input to every entry point: a clear answer and a log line, never an unhandled crash."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.testing import CloudSim

FILES = {
    "functions/bad_case/echo_step.py": '''
        config = {"type": "api", "name": "Echo", "path": "/echo/:id", "method": "POST", "emits": ["noted"]}

        async def handler(req, ctx):
            return {"status": 200, "body": {"id": req["pathParams"]["id"], "q": req["queryParams"],
                                            "body": req["body"], "raw": req["rawBody"]}}
    ''',
    "functions/bad_case/note_step.py": '''
        config = {"type": "event", "name": "Note", "subscribes": ["noted"],
                  "infrastructure": {"queue": {"maxRetries": 0}}}

        async def handler(input, ctx):
            await ctx.state.set("notes", input["key"], input)
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("bad", FILES)) as sim:
        yield sim


def envelope_body(topic: str, data: Any, trace_id: str = "TRACE-1") -> str:
    return json.dumps({"version": "0", "id": "e1", "detail-type": topic, "source": "motia",
                       "detail": {"id": "e1", "topic": topic, "data": data, "traceId": trace_id}})


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:note",
            "awsRegion": "us-east-1"}


def test_requests_are_translated_for_the_handler(sim: CloudSim) -> None:
    response = sim.http("POST", "/echo/42", json={"a": 1}, query="tag=x&tag=y&one=1")
    assert response.status == 200
    assert response.json() == {"id": "42", "q": {"tag": ["x", "y"], "one": "1"}, "body": {"a": 1}, "raw": '{"a": 1}'}
    binary = sim.http("POST", "/echo/7", body=b"\x00\x01raw", headers={"content-type": "application/octet-stream"})
    assert binary.status == 200 and binary.json()["raw"] == "\x00\x01raw"


@pytest.mark.parametrize("event, problem", [
    ("not an event", "not an object"),
    ({}, "not an HTTP API payload v2 event"),
    ({"requestContext": {"http": {"method": "POST"}}, "headers": ["x"]}, "'headers' must be an object"),
    ({"requestContext": {"http": {"method": "POST"}}, "body": "%%%", "isBase64Encoded": True}, "not base64"),
    ({"requestContext": {"http": {"method": "POST"}}, "body": {"a": 1}}, "'body' must be a string"),
])
def test_a_malformed_http_api_event_is_a_400(sim: CloudSim, event: Any, problem: str) -> None:
    result = sim.invoke("api", event, step="Echo")
    assert result["statusCode"] == 400
    assert problem in json.loads(result["body"])["error"]


def test_an_unparseable_json_body_is_a_400(sim: CloudSim) -> None:
    response = sim.http("POST", "/echo/1", body="{oops", headers={"content-type": "application/json"})
    assert response.status == 400 and response.json()["error"].startswith("Invalid JSON body")


@pytest.mark.parametrize("body, problem", [
    ('{"n": ' + "1" * 5001 + "}", "5001 digits"), ("[" * 100_000, "levels deep"), ('{"n": NaN}', "NaN"),
    ('{"n": 1e400}', "1e400"), ('"\\ud800"', "lone surrogate"),
])
def test_json_outside_the_policy_is_a_400_on_the_aws_entry_too(sim: CloudSim, body: str, problem: str) -> None:
    response = sim.http("POST", "/echo/1", body=body, headers={"content-type": "application/json"})
    assert response.status == 400 and problem in response.json()["error"]


def test_a_function_pointed_at_a_missing_step_answers_500(sim: CloudSim) -> None:
    event = {"requestContext": {"http": {"method": "POST"}}, "body": "{}"}
    assert sim.invoke("api", event, step="NoSuchStep")["statusCode"] == 500
    assert sim.invoke("api", event, step="Note")["statusCode"] == 500  # an event step, not an API step


def test_records_that_are_not_events_go_to_the_dlq_at_once_and_alone(sim: CloudSim) -> None:
    records = [
        sqs_record("good-1", envelope_body("noted", {"key": "a"})),
        sqs_record("not-json", "hello"),
        sqs_record("no-topic", json.dumps({"detail": {"data": {}, "traceId": "T"}})),
        sqs_record("wrong-topic", envelope_body("other", {"key": "c"})),
        sqs_record("huge-int", envelope_body("noted", {"key": "d"}).replace('"d"', "1" * 5001)),
        sqs_record("good-2", envelope_body("noted", {"key": "b"})),
    ]
    result = sim.invoke("event", {"Records": records}, step="Note")
    # Retrying cannot help them: they are sent to the DLQ by the function and reported handled.
    assert result["batchItemFailures"] == []
    dead = sim.dead_letters("Note")
    assert len(dead) == 4 and "hello" in dead
    assert sim.run(lambda runtime: runtime.state.get_group("notes")) == [{"key": "a"}, {"key": "b"}]


def test_a_garbage_message_on_the_real_queue_goes_to_the_dlq(sim: CloudSim) -> None:
    queue = sim.resources.queues["Note"]
    sim.client("sqs").send_message(QueueUrl=queue.url, MessageBody="garbage")
    sim.client("events").put_events(Entries=[{
        "Source": "motia", "DetailType": "noted", "EventBusName": sim.resources.bus_name,
        "Detail": json.dumps({"id": "e2", "topic": "noted", "data": {"key": "z"}, "traceId": "T2"})}])
    sim.run_until_idle()
    assert sim.run(lambda runtime: runtime.state.get("notes", "z")) == {"key": "z"}
    assert sim.dead_letters("Note") == ["garbage"]


@pytest.mark.parametrize("kind", ["event", "fanout"])
def test_batch_entry_points_without_records_do_nothing(sim: CloudSim, kind: str) -> None:
    assert sim.invoke(kind, {"unexpected": True}, step="Note" if kind == "event" else None) == {"batchItemFailures": []}


def test_unreadable_stream_records_are_skipped(sim: CloudSim) -> None:
    records = [{"eventName": "INSERT"}, {"eventName": "BOGUS", "dynamodb": {"SequenceNumber": "1"}},
               {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "2", "NewImage": {"pk": {"S": "x"}}}}]
    assert sim.invoke("fanout", {"Records": records}) == {"batchItemFailures": []}


def test_a_malformed_websocket_event_is_a_400(sim: CloudSim) -> None:
    assert sim.invoke("websocket", {"body": "{}"})["statusCode"] == 400


@pytest.mark.parametrize(("size", "fits", "text"), [(7 * 1024 * 1024, 1_000_000, "a"), (1_100_000, 900_000, "é"),
                                                   (600_000, 450_000, "🐾")])
def test_a_response_over_lambdas_6_mb_is_a_500_that_says_why(make_project: Callable[[str, dict[str, str]], Path],
                                                             caplog: pytest.LogCaptureFixture, size: int, fits: int,
                                                             text: str) -> None:
    """Lambda refuses a result over 6 MB and API Gateway answers a bare 500: the function answers the
    500 itself, with an error naming the step and the limit (non-ASCII counts as the escaped JSON)."""
    files = {"functions/big_case/big_step.py": f'''
        config = {{"type": "api", "name": "Big", "path": "/big", "method": "GET"}}

        async def handler(req, ctx):
            n = int(req["queryParams"].get("n", "{size}"))
            return {{"status": 200, "body": {{"text": "{text}" * n}}}}
    '''}
    with CloudSim(make_project("big_response", files)) as sim:
        response = sim.http("GET", "/big")
        assert response.status == 500 and response.json() == {"error": "Internal Server Error"}
        assert any("response of step 'Big'" in r.getMessage() and "6291456-byte limit" in r.getMessage()
                   for r in caplog.records)
        answered = sim.http("GET", "/big", query=f"n={fits}")  # a long body under the limit (measured) is answered
        assert answered.status == 200 and len(answered.json()["text"]) == fits


def test_a_browser_body_that_only_looks_like_json_stays_text(sim: CloudSim) -> None:
    # The same rule as motia dev's (dispatch.parse_body): a page can send these without a CORS
    # preflight, so only a client without an Origin (curl -d) has them read as JSON.
    form = {"content-type": "application/x-www-form-urlencoded"}
    page = sim.http("POST", "/echo/1", body=b'{"a": 1}', headers={**form, "origin": "https://evil.example"})
    assert page.status == 200 and page.json()["body"] == '{"a": 1}'
    curl = sim.http("POST", "/echo/2", body=b'{"a": 1}', headers=form)
    assert curl.status == 200 and curl.json()["body"] == {"a": 1}

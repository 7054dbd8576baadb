"""A WebSocket fuzzer, against the local server and the AWS WebSocket entry on the harness.

Frames: malformed and random text, binary, deeply nested JSON, frames over the 32 KB limit,
JSON of the wrong shape, and random join/leave sequences (odd names, long names, unknown streams,
bad ``since`` values). The property, on both hosts: a frame that is not a well-formed join or
leave gets exactly one ``error`` event; a well-formed join gets its sync or one error; a leave
gets nothing; nothing crashes, and the connection and the server stay up (a normal join still
works afterwards). Frames over the transport's own limit (16 MiB on ``motia dev``, 32 KB frames
and 128 KB messages on API Gateway) never reach the runtime: the WebSocket layer closes with 1009.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from motia_runtime.testing import CloudSim
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow

STREAM = '''
config = {"name": "items", "schema": {"type": "object"}, "public": True}
'''
PRIVATE = '''
config = {"name": "vault", "schema": {"type": "object"}}
'''

# -- frames ---------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
names = st.one_of(st.sampled_from(["items", "vault", "nope", "", "items#x", "ünïcödé", "a" * 300]),
                  st.text(max_size=40))
since = st.one_of(st.none(), st.integers(min_value=-5, max_value=2**62), st.text(max_size=5), st.booleans(),
                  st.floats(allow_nan=False))


@st.composite
def well_formed(draw: st.DrawFn) -> tuple[str, str]:
    """A join or leave with every required field a string: ("join"|"leave", frame)."""
    kind = draw(st.sampled_from(["join", "leave"]))
    data: dict[str, Any] = {"streamName": draw(names), "groupId": draw(names), "subscriptionId": draw(names)}
    if draw(st.booleans()):
        data["id"] = draw(names)
    value = draw(since)
    if value is not None:
        data["since"] = value
    return kind, json.dumps({"type": kind, "data": data})


def nested(depth: int) -> str:
    return '{"type": "join", "data": ' + "[" * depth + "]" * depth + "}"


garbage = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).filter(lambda t: not t.strip().startswith("{")),
    st.integers(min_value=50, max_value=30_000).map(nested),
    st.integers(min_value=50, max_value=15_000).map(lambda d: "[" * d),
    st.integers(min_value=32 * 1024 + 1, max_value=300_000).map(lambda n: json.dumps({"type": "join", "p": "x" * n})),
    json_values.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
    st.fixed_dictionaries({"type": st.sampled_from(["join", "leave", "subscribe", "", None, 3]),
                           "data": json_values.filter(lambda v: not isinstance(v, dict))}).map(json.dumps),
    st.just('{"type": "join", "data": {"streamName": "items"}}'),
    st.just(b'{"type": "join", "data": {"streamName": "items", "groupId": "g", "subscriptionId": "\xff"}}'),
)
frames = st.one_of(garbage.map(lambda g: ("garbage", g)), well_formed())


def _kind(frame: dict[str, Any]) -> str:
    event = frame.get("event", {})
    return event.get("type") if event.get("type") != "event" else event.get("event", {}).get("type")


def check(kind: str, frame: str | bytes, answers: list[dict[str, Any]]) -> None:
    kinds = [_kind(a) for a in answers]
    if kind == "garbage":
        assert kinds == ["error"], (frame[:200], answers)
        assert answers[0]["event"]["event"]["data"]["code"] == "INVALID_MESSAGE"
    elif kind == "leave":
        assert kinds in ([], ["error"]), (frame[:200], answers)
    else:
        assert kinds in (["sync"], ["error"], ["resync", "sync"]), (frame[:200], answers)


SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


# -- the local server -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, ClientConnection]]:
    root = tmp_path_factory.mktemp("ws-fuzz")
    (root / "streams").mkdir()
    (root / "streams" / "items_stream.py").write_text(STREAM)
    (root / "streams" / "vault_stream.py").write_text(PRIVATE)
    dev = InProcessServer(root, tmp_path_factory.mktemp("ws-fuzz-data")).start()
    try:
        with connect(dev.ws_url, max_size=None) as ws:
            yield dev, ws
    finally:
        dev.stop()


def _local_answers(ws: ClientConnection) -> list[dict[str, Any]]:
    """Frames up to the sentinel's sync: the answers to the frame sent before it."""
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    ws.send(json.dumps({"type": "join", "data": {"streamName": "items", "groupId": sentinel, "subscriptionId": "s"}}))
    answers = []
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame.get("groupId") == sentinel and _kind(frame) == "sync":
            return answers
        answers.append(frame)


@SETTINGS
@given(case=frames)
def test_local_every_bad_frame_is_answered_and_the_connection_lives(
        local: tuple[InProcessServer, ClientConnection], case: tuple[str, str | bytes]) -> None:
    _, ws = local
    kind, frame = case
    ws.send(frame)
    check(kind, frame, _local_answers(ws))


def test_local_server_is_up_after_the_fuzzing(local: tuple[InProcessServer, ClientConnection]) -> None:
    server, ws = local
    assert _local_answers(ws) == []  # the same connection still answers
    assert httpx.get(f"{server.url}/__motia/health").status_code == 200
    assert "Traceback" not in server.logs() and "Exception in ASGI application" not in server.logs()


# -- the AWS WebSocket entry on the harness ----------------------------------------------------
@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CloudSim, Any]]:
    root = tmp_path_factory.mktemp("ws-fuzz-aws")
    (root / "streams").mkdir()
    (root / "streams" / "fuzz_items_stream.py").write_text(textwrap.dedent(STREAM))
    (root / "streams" / "fuzz_vault_stream.py").write_text(textwrap.dedent(PRIVATE))
    with CloudSim(root) as sim:
        yield sim, sim.connect()


@SETTINGS
@given(case=frames)
def test_aws_every_bad_frame_is_answered_and_the_connection_lives(cloud: tuple[CloudSim, Any],
                                                                 case: tuple[str, str | bytes]) -> None:
    _, client = cloud
    kind, frame = case
    before = len(client.frames)
    result = client.send_raw(frame)
    assert result == {"statusCode": 200}, (frame[:200], result)  # handled, not a 500
    check(kind, frame, client.frames[before:])


def test_aws_connection_is_up_after_the_fuzzing(cloud: tuple[CloudSim, Any]) -> None:
    sim, client = cloud
    before = len(client.frames)
    client.join("items", "after-fuzz")
    assert [_kind(f) for f in client.frames[before:]] == ["sync"]
    table = sim.resources.tables["connections-table"]
    rows = sim.client("dynamodb").query(TableName=table, KeyConditionExpression="pk = :pk",
                                        ExpressionAttributeValues={":pk": {"S": client.connection_id}})["Items"]
    assert {"sk": {"S": "#connection"}} in [{"sk": r["sk"]} for r in rows]

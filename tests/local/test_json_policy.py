"""One JSON policy (motia_runtime/jsonsafe.py) on a real ``motia dev``, over real sockets: bad
JSON is a 400 or an error event, never a 500 or a dropped connection; values JSON cannot carry
are refused at the write, naming the key; data an older version stored still reads."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.ws import StreamSocket

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "guard_app"
BIG_INT = "1" * 5001  # over Python's 4,300-digit conversion limit
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    dev = InProcessServer(APP, tmp_path_factory.mktemp("json-data")).start()
    yield dev
    dev.stop()


@pytest.fixture
def http(server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def _post_json(http: httpx.Client, method: str, path: str, text: str) -> httpx.Response:
    return http.request(method, path, content=text.encode(), headers={"content-type": "application/json"})


def test_huge_integers_and_deep_nesting_are_a_400_on_every_endpoint(http: httpx.Client) -> None:
    targets = [("POST", "/echo"), ("PUT", "/__motia/state/g/k"), ("POST", "/__motia/stream-token")]
    for method, path in targets:
        big = _post_json(http, method, path, f'{{"n": {BIG_INT}}}')
        assert big.status_code == 400 and "5001 digits" in big.json()["error"], (path, big.text[:300])
        deep = _post_json(http, method, path, DEEP)
        assert deep.status_code == 400 and "levels deep" in deep.json()["error"], (path, deep.text[:300])
    # Just inside the limits is accepted.
    ok = _post_json(http, "POST", "/echo", f'{{"n": {"1" * 4300}, "deep": {"[" * 60}{"]" * 60}}}')
    assert ok.status_code == 200 and len(str(ok.json()["echo"]["n"])) == 4300
    assert http.get("/__motia/state", params={"group": "g"}).json()["items"] == []
    assert http.get("/__motia/health").status_code == 200


def test_a_join_with_a_5001_digit_since_gets_an_error_event_and_the_connection_stays(server: InProcessServer) -> None:
    async def scenario() -> None:
        client = await StreamSocket.connect(server.ws_url)
        try:
            await client.conn.send('{"type": "join", "data": {"streamName": "board", "groupId": "g", '
                                   f'"subscriptionId": "s1", "since": {BIG_INT}}}}}')
            error = await client.recv()
            assert error["event"]["event"]["type"] == "error"
            assert error["event"]["event"]["data"]["code"] == "INVALID_MESSAGE"
            assert "5001 digits" in error["event"]["event"]["data"]["message"]
            await client.conn.send('{"type": "join", "data": ' + "[" * 5000 + "]" * 5000 + "}")
            deep = await client.recv()
            assert "levels deep" in deep["event"]["event"]["data"]["message"]
            await client.join("board", "g")  # the same connection still works
            assert (await client.recv())["event"] == {"type": "sync", "data": []}
        finally:
            await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e400", '{"a": "\\ud800"}', '["\\udc00x"]'])
def test_the_workbench_refuses_values_json_cannot_carry(http: httpx.Client, text: str) -> None:
    response = _post_json(http, "PUT", "/__motia/state/bad/k", text)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"].startswith("Invalid JSON") and body["key"] == "k" and body["group"] == "bad"
    assert http.get("/__motia/state", params={"group": "bad"}).json()["items"] == []


@pytest.mark.parametrize("where", ["state", "stream"])
def test_steps_cannot_store_values_json_cannot_carry(http: httpx.Client, where: str) -> None:
    for kind, problem in (("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("surrogate", "lone surrogate"),
                          ("bigint", "4300 digits")):
        refused = http.post(f"/write/{where}/{kind}")
        assert refused.status_code == 400, (kind, refused.text)
        body = refused.json()
        assert body["type"] == "ValidationError" and problem in body["error"], body
        assert repr(kind) in body["error"] and "nested.0" in body["error"], body  # the key and the field
    assert http.post(f"/write/{where}/ok").status_code == 200
    # Nothing refused was written: every read still answers, with the one good value only.
    if where == "state":
        assert http.get("/__motia/state", params={"group": "poison"}).json()["items"] == [
            {"key": "ok", "value": {"nested": [1.5]}}]
        assert http.get("/read/poison").json() == {"values": [{"nested": [1.5]}]}
    else:
        items = http.get("/__motia/streams/board/groups/poison").json()["items"]
        assert [(i["id"], i["nested"]) for i in items] == [("ok", [1.5])]


def test_the_trace_of_a_refused_write_reads_as_plain_json(http: httpx.Client) -> None:
    """The trace records the refused value (NaN); the Workbench still shows it, as JSON a browser parses."""
    for kind in ("nan", "inf", "surrogate"):
        refused = http.post(f"/write/state/{kind}")
        assert refused.status_code == 400
        trace = http.get(f"/__motia/traces/{refused.headers['x-trace-id']}")
        assert trace.status_code == 200, trace.text[:300]
        text = json.dumps(_strict(trace.content))
        assert "ValidationError" in text and "cannot be stored as JSON" in text, kind


def test_values_an_older_version_stored_still_read(http: httpx.Client, server: InProcessServer) -> None:
    """Rows as the previous version wrote them (json.dumps: NaN, Infinity, an escaped lone surrogate)."""
    db = sqlite3.connect(server.data_dir / "motia.db")
    try:
        with db:
            for key, text in (("nan", '{"v": NaN}'), ("inf", "[Infinity, -Infinity]"), ("sur", '"a\\ud800b"')):
                db.execute("INSERT INTO state (grp, key, value, updated_at) VALUES ('old', ?, ?, 0)", (key, text))
            db.execute("INSERT INTO stream_items (stream, grp, id, data, created_at, updated_at, version) "
                       "VALUES ('board', 'old', 'x', ?, 1, 1, 1)", ('{"v": NaN, "s": "\\udc00"}',))
    finally:
        db.close()
    expected = [{"key": "nan", "value": {"v": None}}, {"key": "inf", "value": [None, None]},
                {"key": "sur", "value": "a\ufffdb"}]
    state = http.get("/__motia/state", params={"group": "old"})
    assert state.status_code == 200 and state.json()["items"] == expected
    assert http.get("/read/old").json() == {"values": [e["value"] for e in expected]}
    item = http.get("/__motia/streams/board/groups/old")
    assert item.status_code == 200 and item.json()["items"][0]["v"] is None
    assert item.json()["items"][0]["s"] == "\ufffd"

    async def sync() -> None:
        client = await StreamSocket.connect(server.ws_url)
        try:
            await client.join("board", "old")
            frame = _strict(await asyncio.wait_for(client.conn.recv(), 5))  # NaN would be refused
            assert frame["event"]["type"] == "sync" and frame["event"]["data"][0]["v"] is None
        finally:
            await client.close()

    asyncio.run(sync())
    # Deleting such a key works too, and the feed of the change is plain JSON.
    assert http.delete("/__motia/state/old/nan").status_code == 200


def test_an_out_of_range_dead_letter_id_is_a_404(http: httpx.Client) -> None:
    # 5,000 digits: past what int() converts (4,300), which Starlette's int convertor let out as a 500.
    for huge in ("1" * 23, "1" * 5000, "²"):
        assert http.delete(f"/__motia/queues/dead-letters/{huge}").status_code == 404
        assert http.post(f"/__motia/queues/dead-letters/{huge}/retry").status_code == 404
    assert http.delete(f"/__motia/queues/dead-letters/{2**63 - 1}").status_code == 404
    assert http.get("/__motia/health").status_code == 200


def _strict(text: str | bytes) -> Any:
    """JSON as a browser's JSON.parse reads it: NaN and Infinity are errors."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} in a frame")

    return json.loads(text, parse_constant=refuse)

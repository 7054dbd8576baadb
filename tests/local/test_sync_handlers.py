"""A plain ``def`` handler's ``ctx`` calls work without ``await`` (they block), over real HTTP.

They used to create coroutines nobody awaited: the writes were lost with a RuntimeWarning."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dev_server import DevServer

pytestmark = pytest.mark.slow

FILES = {
    "streams/notes_stream.py": "config = {'name': 'notes', 'schema': {'type': 'object'}}\n",
    "functions/save_step.py": '''
config = {"type": "api", "name": "Save", "path": "/save/:key", "method": "POST", "emits": ["saved"]}

def handler(req, ctx):  # plain def: no await anywhere
    key = req["pathParams"]["key"]
    ctx.state.set("sync", key, req["body"])
    note = ctx.streams.notes.set("sync", key, {"text": req["body"]["text"]})
    ctx.emit({"topic": "saved", "data": {"key": key}})
    ctx.logger.info("saved", {"key": key})
    return {"status": 200, "body": {"read": ctx.state.get("sync", key), "note": note["text"]}}
''',
    "functions/on_saved_step.py": '''
config = {"type": "event", "name": "OnSaved", "subscribes": ["saved"], "emits": []}

def handler(data, ctx):
    ctx.state.set("seen", data["key"], True)
''',
    "functions/bad_emit_step.py": '''
config = {"type": "api", "name": "BadEmit", "path": "/bad-emit", "method": "POST", "emits": []}

def handler(req, ctx):
    ctx.emit({"topic": "not.declared", "data": {}})  # raises here, in the handler, as async code would
    return {"status": 200, "body": {"emitted": True}}
''',
    "functions/read_step.py": '''
config = {"type": "api", "name": "Read", "path": "/read/:group/:key", "method": "GET"}

async def handler(req, ctx):
    p = req["pathParams"]
    return {"status": 200, "body": {"value": await ctx.state.get(p["group"], p["key"])}}
''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    root = tmp_path_factory.mktemp("sync-app")
    for name, body in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    dev = DevServer(root, Path(tmp_path_factory.mktemp("sync-data"))).start()
    yield dev
    dev.stop()


def test_a_plain_handler_writes_reads_streams_and_emits_without_await(server: DevServer) -> None:
    response = httpx.post(f"{server.url}/save/k1", json={"text": "hello"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"read": {"text": "hello"}, "note": "hello"}
    assert httpx.get(f"{server.url}/read/sync/k1", timeout=10).json() == {"value": {"text": "hello"}}
    deadline = time.time() + 10  # the emitted event reached the (plain def) subscriber, which wrote too
    while httpx.get(f"{server.url}/read/seen/k1", timeout=10).json()["value"] is not True:
        assert time.time() < deadline, server.logs()
        time.sleep(0.1)
    assert "was never awaited" not in server.logs()


def test_a_plain_handlers_failing_call_raises_in_the_handler(server: DevServer) -> None:
    response = httpx.post(f"{server.url}/bad-emit", json={}, timeout=10)
    assert response.status_code == 500
    assert "cannot emit 'not.declared'" in server.logs()

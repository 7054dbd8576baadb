"""``baseConfig: {storageType: "custom", factory}``: a stream that brings its own store.

The example store of docs/storage.md (custom_app/custom_storage/json_file_store.py) passes the
contract suite, and ``motia dev`` serves a custom stream from it over real sockets, next to a
stream on the default storage.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from motia_runtime.ports.streams import StreamStore
from motia_runtime.testing.store_contract import StreamStoreContract
from tests.support.inprocess import InProcessServer
from tests.support.ws import StreamSocket

APP = Path(__file__).parent / "custom_app"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("json_file_store_example",
                                                  APP / "custom_storage" / "json_file_store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestJsonFileStreamStore(StreamStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> StreamStore:
        return _example().JsonFileStreamStore(tmp_path / "items.json")  # type: ignore[no-any-return]


async def test_the_example_store_keeps_items_and_stamps_across_a_restart(tmp_path: Path) -> None:
    store_class = _example().JsonFileStreamStore
    first = await store_class(tmp_path / "items.json").set("s", "g", "a", {"v": 1})
    again = store_class(tmp_path / "items.json")
    assert await again.get("s", "g", "a") == first.data
    assert (await again.set("s", "g", "a", {"v": 2})).timestamp > first.timestamp


@pytest.fixture
def dev(tmp_path: Path) -> Any:
    server = InProcessServer(APP, tmp_path / "data", env={"TODOS_FILE": str(tmp_path / "todos.json")})
    yield server.start()
    server.stop()


async def _post(server: InProcessServer, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        return await client.post(path, json=body)


@pytest.mark.slow
async def test_motia_dev_serves_a_custom_stream_from_its_own_store(dev: InProcessServer, tmp_path: Path) -> None:
    ws = await StreamSocket.connect(dev.ws_url)
    await ws.join("todos", "list")
    await ws.join("drafts", "list")
    assert [f["event"] for f in [await ws.recv(), await ws.recv()]] == [{"type": "sync", "data": []}] * 2

    assert (await _post(dev, "/todos/todos/t1", {"title": "write docs"})).status_code == 200
    assert (await _post(dev, "/todos/drafts/d1", {"text": "default storage"})).status_code == 200
    assert (await _post(dev, "/todos/todos/t1", {"delete": True})).status_code == 200
    assert (await _post(dev, "/todos/todos/t2", {"title": "kept"})).status_code == 200
    frames = await ws.recv_until(lambda f: f.get("id") == "t2")
    assert [(f["streamName"], f["event"]["type"], f["id"]) for f in frames] == [
        ("todos", "create", "t1"), ("drafts", "create", "d1"), ("todos", "delete", "t1"), ("todos", "create", "t2")]
    await ws.close()

    # The custom stream's items are in the store's file; the default stream's are not.
    saved = json.loads((tmp_path / "todos.json").read_text())
    assert list(saved) == ["todos"] and list(saved["todos"]["list"]) == ["t2"]
    dev.stop()
    dev.start()  # the custom store reads its file again
    ws = await StreamSocket.connect(dev.ws_url)
    await ws.join("todos", "list")
    sync = await ws.recv()
    assert [(i["id"], i["title"]) for i in sync["event"]["data"]] == [("t2", "kept")]
    await ws.close()


def test_a_factory_that_returns_no_store_stops_motia_dev(tmp_path: Path) -> None:
    root = tmp_path / f"bad_{uuid.uuid4().hex[:6]}"
    (root / "streams").mkdir(parents=True)
    (root / "streams" / "broken_stream.py").write_text(textwrap.dedent("""
        from motia_runtime import StreamConfig

        config = StreamConfig(name="broken", schema={"type": "object"},
                              base_config={"storageType": "custom", "factory": dict})
    """))
    done = subprocess.run([sys.executable, "-m", "motia_runtime", "dev", "--root", str(root), "--data-dir",
                           str(tmp_path / "data"), "--no-reload"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "baseConfig.factory: the custom stream factory returned dict, not a StreamStore" in done.stderr
    assert "broken_stream.py" in done.stderr

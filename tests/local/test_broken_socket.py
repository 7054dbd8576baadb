"""The stream socket of a project that does not load (hosts/local/broken.py) over a real uvicorn
on loopback: every frame gets its answer and the connection stays, binary frames included, as
on the real socket (tests/fuzz/test_websocket_fuzz.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import websockets

from motia_runtime.errors import ConfigError
from motia_runtime.hosts.local.broken import broken_project_app
from tests.support.uvicorn_thread import serving


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = broken_project_app(ConfigError("bad method", file="functions/hello_step.py", field="method", line=2))
    with serving(app, ws="motia_runtime.hosts.local.frames:FrameWriterProtocol") as server:
        yield server.config.port


async def test_a_binary_frame_is_answered_and_the_connection_stays(port: int) -> None:
    # A binary frame ended the handler (KeyError on "text"), closing the socket under the client.
    join = {"type": "join", "data": {"streamName": "todo", "groupId": "g", "subscriptionId": "s"}}
    async with websockets.connect(f"ws://127.0.0.1:{port}/") as conn:
        for frame in (json.dumps(join).encode(), b"\xff\x00", json.dumps(join)):
            await conn.send(frame)
            answer = json.loads(await asyncio.wait_for(conn.recv(), 5))
            error = answer["event"]["event"]
            assert error["type"] == "error", answer
            assert error["data"]["code"] in ("PROJECT_NOT_LOADED", "INVALID_MESSAGE"), answer

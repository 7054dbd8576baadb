"""The streams docs' OpenAI example, end to end: HTTP → event → the real openai SDK → stream → socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dev_server import REPO
from tests.support.fake_openai import FakeOpenAI
from tests.support.inprocess import InProcessServer
from tests.support.ws import MotiaItemState, StreamSocket

REPLY = "Streams push every chunk of this reply to the browser as it arrives."


@pytest.fixture
def server_with_model(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[InProcessServer]:
    fake_openai.reply = REPLY
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai.base_url}
    server = InProcessServer(REPO, tmp_path / "data", env=env).start()
    yield server
    server.stop()


async def _watch_message(server: InProcessServer, prompt: str) -> tuple[dict, list[dict], MotiaItemState]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        response = await http.post("/open-ai", json={"message": prompt})
    assert response.status_code == 200
    body = response.json()
    marker = body["__motia"]
    ws = await StreamSocket.connect(server.ws_url)
    await ws.join(marker["streamName"], marker["groupId"], marker["id"])
    state = MotiaItemState()
    frames = await ws.recv_until(lambda f: f["event"]["data"]["message"].endswith(("arrives.", prompt)), timeout=20)
    for frame in frames:
        state.apply(frame)
    await ws.close()
    return body, frames, state


async def test_the_reply_fills_the_item_chunk_by_chunk(server_with_model: InProcessServer,
                                                      fake_openai: FakeOpenAI) -> None:
    body, frames, state = await _watch_message(server_with_model, "Say something about streams")
    assert body["message"] == "" and body["id"] == "message"
    assert body["__motia"] == {"type": "state-stream", "streamName": "openai", "groupId": body["__motia"]["groupId"],
                               "id": "message"}
    texts = [f["event"]["data"]["message"] for f in frames]
    assert texts[-1] == REPLY
    updates = [t for f, t in zip(frames, texts, strict=True) if f["event"]["type"] == "update"]
    assert len(updates) >= 5  # many chunks, each its own update
    assert all(REPLY.startswith(t) for t in texts)  # every intermediate state is a prefix of the reply
    assert state.state["message"] == REPLY  # Motia's timestamp rule drops nothing
    [request] = fake_openai.requests
    assert request["stream"] is True
    assert request["messages"] == [{"role": "system", "content": "Say something about streams"}]


async def test_without_a_key_a_fallback_message_is_streamed(tmp_path: Path) -> None:
    server = InProcessServer(REPO, tmp_path / "data").start()
    try:
        _, frames, state = await _watch_message(server, "hello")
    finally:
        server.stop()
    assert state.state["message"].startswith("OpenAI is not configured")
    assert state.state["message"].endswith("hello")
    assert len(frames) > 3


async def test_an_api_error_streams_the_fallback_instead_of_crashing(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_with = 500
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai.base_url}
    server = InProcessServer(REPO, tmp_path / "data", env=env).start()
    try:
        _, _, state = await _watch_message(server, "hi")
    finally:
        server.stop()
    assert state.state["message"].startswith("The OpenAI call failed (InternalServerError)")
    assert fake_openai.requests  # the SDK really called the server (and retried, as it does on a 500)

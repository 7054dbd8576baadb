"""A local OpenAI-compatible HTTP server for tests: the real ``openai`` SDK talks to it.

It serves ``POST /v1/chat/completions`` both ways the SDK asks: a JSON completion, or with
``"stream": true`` Server-Sent Events of ``chat.completion.chunk`` objects ending in
``data: [DONE]``. What it answers is decided per request by ``reply`` (a string or a function of
the request body), and every request is recorded.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Reply = str | Callable[[dict[str, Any]], str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeOpenAI:
    def __init__(self, reply: Reply = "Hello from the fake model", chunk_size: int = 4, chunk_delay_s: float = 0.01,
                 first_delay_s: float = 0.0):
        self.reply: Reply = reply
        self.first_delay_s = first_delay_s  # before the first streamed piece (lets a client join first)
        self.gate: threading.Event | None = None  # when set: streamed replies wait for it to open
        self.chunk_size = chunk_size
        self.chunk_delay_s = chunk_delay_s
        self.fail_with: int | None = None  # answer every request with this HTTP status
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _text(self, body: dict[str, Any]) -> str:
        return self.reply(body) if callable(self.reply) else self.reply

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if self.fail_with is not None:
            return JSONResponse({"error": {"message": "fake failure", "type": "server_error"}},
                                status_code=self.fail_with)
        text = self._text(body)
        created = int(time.time())
        model = body.get("model", "fake-model")
        if not body.get("stream"):
            return JSONResponse({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })

        async def events():
            pieces = [text[i:i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]
            first = {"role": "assistant", "content": ""}
            if self.first_delay_s:
                await asyncio.sleep(self.first_delay_s)
            while self.gate is not None and not self.gate.is_set():
                await asyncio.sleep(0.02)
            for i, delta in enumerate([first, *({"content": p} for p in pieces)]):
                chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
                if i:
                    await asyncio.sleep(self.chunk_delay_s)
            done = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield f"data: {json.dumps(done)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    def start(self) -> FakeOpenAI:
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

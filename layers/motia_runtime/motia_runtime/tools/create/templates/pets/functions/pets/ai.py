"""A thin wrapper over the ``openai`` SDK for the pet shelter, and JSON helpers for model output.

``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (any OpenAI-compatible server) come from the
environment; the model from ``PET_AI_MODEL``, else ``OPENAI_MODEL``, else ``gpt-4o-mini``.
The SDK is imported inside the calls: the Lambdas of the API steps that never reach them do not
pay for importing it. A client is made per call because each Lambda invocation (and each test)
may run on a new event loop, which a kept ``AsyncOpenAI`` client's connection pool cannot cross.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

DEFAULT_MODEL = "gpt-4o-mini"
# API Gateway ends an HTTP request after 30 s, so an agent's call must give up well before that.
REQUEST_TIMEOUT_S = 20.0
MAX_RETRIES = 1

Message = dict[str, str]


class AiUnavailableError(Exception):
    """No API key is configured: callers use their fallback without trying the network."""


def model_name() -> str:
    return os.environ.get("PET_AI_MODEL") or os.environ.get("OPENAI_MODEL") or DEFAULT_MODEL


def is_configured() -> bool:
    return bool(os.environ.get("OPENAI_API_KEY"))


def _client() -> Any:
    if not is_configured():
        raise AiUnavailableError("OPENAI_API_KEY is not set")
    from openai import AsyncOpenAI  # lazy: see the module docstring

    # `or None`: on Lambda an unset template parameter arrives as an empty variable, which the
    # SDK would take as an empty base URL instead of its default.
    return AsyncOpenAI(base_url=os.environ.get("OPENAI_BASE_URL") or None, timeout=REQUEST_TIMEOUT_S,
                       max_retries=MAX_RETRIES)


async def stream_chat(messages: Sequence[Message], *, max_tokens: int, temperature: float) -> AsyncIterator[str]:
    """Yield the reply's text as it arrives (``stream=True``)."""
    async with _client() as client:
        stream = await client.chat.completions.create(
            model=model_name(), messages=list(messages), max_tokens=max_tokens, temperature=temperature,
            stream=True,
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


async def complete_json(messages: Sequence[Message], *, max_tokens: int, temperature: float) -> str:
    """The reply's text to a request for a JSON object (not parsed: callers validate it)."""
    async with _client() as client:
        response = await client.chat.completions.create(
            model=model_name(), messages=list(messages), max_tokens=max_tokens, temperature=temperature,
            response_format={"type": "json_object"},
        )
    content = response.choices[0].message.content if response.choices else None
    if not content:
        raise ValueError("the model returned no content")
    return str(content)


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's reply, tolerating a Markdown fence or words around it."""
    cleaned = _FENCE.sub("", text.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the model's reply")
    value = json.loads(cleaned[start:end + 1])
    if not isinstance(value, dict):
        raise ValueError("the model's reply is not a JSON object")
    return value


class JsonFieldWatcher:
    """Watches a JSON object arrive in pieces and reports each top-level field once its value is complete.

    ``feed(text)`` returns ``[(key, value), ...]`` for the fields completed by that piece, so a
    step can stream "Generated bio" while the model is still writing the breed guess. Anything
    before the first ``{`` (a Markdown fence) is skipped. Values that do not parse are None.
    """

    def __init__(self) -> None:
        self.text = ""
        self._pos = 0
        self._depth = 0
        self._started = False
        self._done = False
        self._in_string = False
        self._escape = False
        self._string_start = 0
        self._expect_key = True
        self._key: str | None = None
        self._value_start = 0
        self._reported = True

    def feed(self, piece: str) -> list[tuple[str, Any]]:
        self.text += piece
        completed: list[tuple[str, Any]] = []
        while self._pos < len(self.text) and not self._done:
            self._step(self.text[self._pos], completed)
            self._pos += 1
        return completed

    def _complete(self, end: int, completed: list[tuple[str, Any]]) -> None:
        if self._reported or self._key is None:
            return
        self._reported = True
        try:
            value = json.loads(self.text[self._value_start:end].strip())
        except ValueError:
            value = None
        completed.append((self._key, value))

    def _step(self, char: str, completed: list[tuple[str, Any]]) -> None:
        if not self._started:
            if char == "{":
                self._started, self._depth = True, 1
            return
        if self._in_string:
            if self._escape:
                self._escape = False
            elif char == "\\":
                self._escape = True
            elif char == '"':
                self._in_string = False
                if self._depth == 1 and self._expect_key:
                    self._key = json.loads(self.text[self._string_start:self._pos + 1])
                elif self._depth == 1:
                    self._complete(self._pos + 1, completed)
            return
        if char == '"':
            self._in_string, self._string_start = True, self._pos
        elif char == ":" and self._depth == 1:
            self._expect_key, self._value_start, self._reported = False, self._pos + 1, False
        elif char in "{[":
            self._depth += 1
        elif char in "}]":
            self._depth -= 1
            if self._depth == 1:
                self._complete(self._pos + 1, completed)
            elif self._depth == 0:
                self._complete(self._pos, completed)  # a number, true, false or null as last value
                self._done = True
        elif char == "," and self._depth == 1:
            self._complete(self._pos, completed)
            self._expect_key = True

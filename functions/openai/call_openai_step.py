"""Stream a chat completion into the ``openai`` stream item, one ``set`` per chunk.

``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (any OpenAI-compatible server) come from the
environment. Without a key, or when the API fails, a fallback message is streamed the same way,
so a client always sees the item fill up and finish.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from pydantic import BaseModel

from motia_runtime import EventConfig

if TYPE_CHECKING:
    from motia_types import CallOpenAiContext, CallOpenAiInput


class Prompt(BaseModel):
    message: str


config = EventConfig(
    name="CallOpenAi",
    description="Call OpenAI",
    subscribes=["openai-prompt"],
    emits=[],
    input=Prompt,
    flows=["open-ai"],
)

MODEL = os.environ.get("OPENAI_MODEL") or "gpt-4o-mini"  # empty when the deploy parameter is unset
NO_KEY = "OpenAI is not configured (set OPENAI_API_KEY, and OPENAI_BASE_URL for a compatible server)"
FAILED = "The OpenAI call failed ({error})"
FALLBACK = "{reason}, so this is a local fallback reply to: {prompt}"


async def _stream_words(text: str) -> AsyncIterator[str]:
    for i, word in enumerate(text.split(" ")):
        yield word if i == 0 else " " + word
        await asyncio.sleep(0.02)


async def _openai_chunks(prompt: str) -> AsyncIterator[str]:
    from openai import AsyncOpenAI  # imported here: the Lambda of the API step never loads it

    # `or None`: an unset deploy parameter arrives as an empty variable, not as no variable.
    client = AsyncOpenAI(base_url=os.environ.get("OPENAI_BASE_URL") or None)
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": prompt}], stream=True
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


async def handler(input: CallOpenAiInput, ctx: CallOpenAiContext) -> None:
    ctx.logger.info("[Call OpenAI] Received callOpenAi event", dict(input))
    prompt = input["message"]
    parts: list[str] = []
    reason = NO_KEY
    if os.environ.get("OPENAI_API_KEY"):
        try:
            async for piece in _openai_chunks(prompt):
                parts.append(piece)
                await ctx.streams.openai.set(ctx.trace_id, "message", {"message": "".join(parts)})
            ctx.logger.info("[Call OpenAI] OpenAI response", {"chars": len("".join(parts))})
            return
        except Exception as exc:  # openai.APIError, network errors: fall back, never leave the item empty
            ctx.logger.warn("[Call OpenAI] OpenAI call failed, streaming the fallback", {"error": str(exc)})
            reason = FAILED.format(error=type(exc).__name__)
            parts = []
    async for piece in _stream_words(FALLBACK.format(reason=reason, prompt=prompt)):
        parts.append(piece)
        await ctx.streams.openai.set(ctx.trace_id, "message", {"message": "".join(parts)})

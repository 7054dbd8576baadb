"""``POST /open-ai``: create an empty stream item, ask for the completion, return the item.

The returned body is the stream item with ``__motia``, so the Workbench and any client can
subscribe to it and watch the reply arrive (Motia's streams docs, in Python).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from motia_runtime import ApiRouteConfig

if TYPE_CHECKING:  # motia_types.py is written by `motia types`; only the type checker reads it
    from motia_types import OpenAiApiContext, OpenAiApiRequest, OpenAiApiResponse


class PromptBody(BaseModel):
    message: str = Field(min_length=1, description="The message to send to OpenAI")


class MessageItem(BaseModel):
    message: str = Field(description="The message from OpenAI")


config = ApiRouteConfig(
    name="OpenAiApi",
    description="Call OpenAI",
    path="/open-ai",
    method="POST",
    emits=["openai-prompt"],
    flows=["open-ai"],
    body_schema=PromptBody,
    response_schema={200: MessageItem},
)


async def handler(req: OpenAiApiRequest, ctx: OpenAiApiContext) -> OpenAiApiResponse:
    ctx.logger.info("[Call OpenAI] Received callOpenAi event", {"message": req["body"]["message"]})
    result = await ctx.streams.openai.set(ctx.trace_id, "message", {"message": ""})
    await ctx.emit({"topic": "openai-prompt", "data": {"message": req["body"]["message"]}})
    return {"status": 200, "body": result}

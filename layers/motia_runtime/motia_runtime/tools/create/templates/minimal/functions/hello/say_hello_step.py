"""On ``hello.requested``: write the greeting, word by word, into the request's stream item."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import BaseModel

from motia_runtime import EventConfig

if TYPE_CHECKING:
    from motia_types import SayHelloContext, SayHelloInput


class HelloRequested(BaseModel):
    name: str


config = EventConfig(
    name="SayHello",
    description="Stream the greeting",
    subscribes=["hello.requested"],
    input=HelloRequested,
    flows=["hello"],
)


async def handler(input: SayHelloInput, ctx: SayHelloContext) -> None:
    words = f"Hello, {input['name']}!".split(" ")
    for n in range(1, len(words) + 1):
        await ctx.streams.greetings.set(ctx.trace_id, "greeting",
                                        {"message": " ".join(words[:n]), "done": n == len(words)})
        await asyncio.sleep(0.05)
    ctx.logger.info("greeted", {"name": input["name"]})

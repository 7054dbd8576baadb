"""``POST /hello``: start a greeting and return the stream item a client watches fill in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from streams.greetings_stream import Greeting

from motia_runtime import ApiRouteConfig

if TYPE_CHECKING:  # written by `motia types`; only the type checker needs it
    from motia_types import HelloApiContext, HelloApiRequest, HelloApiResponse


class HelloBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)


config = ApiRouteConfig(
    name="HelloApi",
    description="Greet someone, live",
    path="/hello",
    method="POST",
    body_schema=HelloBody,
    response_schema={200: Greeting},
    emits=["hello.requested"],
    flows=["hello"],
)


async def handler(req: HelloApiRequest, ctx: HelloApiContext) -> HelloApiResponse:
    name = req["body"]["name"]
    item = await ctx.streams.greetings.set(ctx.trace_id, "greeting", {"message": f"Greeting {name}..."})
    await ctx.emit({"topic": "hello.requested", "data": {"name": name}})
    return {"status": 200, "body": item}

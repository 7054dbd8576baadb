"""``GET /hello/:id``: the greeting item of a request, for clients that poll instead of watching."""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams.greetings_stream import Greeting

from motia_runtime import ApiRouteConfig

if TYPE_CHECKING:
    from motia_types import GetGreetingContext, GetGreetingRequest, GetGreetingResponse

config = ApiRouteConfig(
    name="GetGreeting",
    description="Read a greeting",
    path="/hello/:id",
    method="GET",
    response_schema={200: Greeting, 404: {"type": "object", "properties": {"error": {"type": "string"}},
                                          "required": ["error"]}},
    flows=["hello"],
)


async def handler(req: GetGreetingRequest, ctx: GetGreetingContext) -> GetGreetingResponse:
    item = await ctx.streams.greetings.get(req["pathParams"]["id"], "greeting")
    if item is None:
        return {"status": 404, "body": {"error": "no such greeting"}}
    return {"status": 200, "body": item}

"""Records ``data.n``; its input schema wants an integer, so other input never reaches it."""

config = {
    "type": "event", "name": "Typed", "subscribes": ["typed"], "flows": ["checks"],
    "input": {"type": "object", "properties": {"key": {"type": "string"}, "n": {"type": "integer"}},
              "required": ["key", "n"]},
    "infrastructure": {"queue": {"maxRetries": 2, "backoffDelayMs": 50, "backoffType": "fixed"}},
}


async def handler(input, ctx):
    await ctx.state.set("typed", input["key"], input["n"])

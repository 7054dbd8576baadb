"""Handled two seconds after the emit: long enough to kill the server in between."""

config = {
    "type": "event", "name": "Delayed", "subscribes": ["delayed"], "flows": ["checks"],
    "infrastructure": {"queue": {"delaySeconds": 2}},
}


async def handler(input, ctx):
    await ctx.state.set("delayed", input["key"], {"handled": True, "traceId": ctx.trace_id})

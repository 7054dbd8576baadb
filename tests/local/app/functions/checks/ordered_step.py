"""A FIFO consumer: appends each value to a per-group list in state; fails once on "fail-once"."""

import asyncio

config = {
    "type": "event", "name": "Ordered", "subscribes": ["ordered"], "flows": ["checks"],
    "infrastructure": {"queue": {"type": "fifo", "maxRetries": 3, "backoffDelayMs": 30, "backoffType": "fixed"}},
}


async def handler(input, ctx):
    group, value = input["group"], input["value"]
    if value == "fail-once" and not await ctx.state.get("ordered-failed", group):
        await ctx.state.set("ordered-failed", group, True)
        raise RuntimeError("failing once to prove retries keep the order")
    await asyncio.sleep(0.01)  # give a concurrent consumer a chance to overtake, if it could
    seen = await ctx.state.get("ordered", group) or []
    await ctx.state.set("ordered", group, [*seen, value])

"""Runs every second (Motia accepts a leading seconds field)."""

config = {"type": "cron", "name": "Ticker", "cron": "* * * * * *", "flows": ["checks"]}


async def handler(ctx):
    runs = await ctx.state.get("ticker", "runs") or []
    await ctx.state.set("ticker", "runs", [*runs, ctx.trace_id][-20:])

"""A cron step the Workbench can run by hand (never on its own: the year is far away)."""

config = {"type": "cron", "name": "Tick", "cron": "0 0 1 1 *", "flows": ["guard"]}


async def handler(ctx):
    await ctx.state.set("ticks", ctx.trace_id, True)

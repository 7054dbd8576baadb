"""Every second: counts its runs, so a slot run by both workers shows as a double count."""

config = {"type": "cron", "name": "Tick", "cron": "* * * * * *", "flows": ["shared"]}


async def handler(ctx):
    await ctx.streams.notes.update("ticks", "count", [{"type": "increment", "path": "runs", "by": 1}])

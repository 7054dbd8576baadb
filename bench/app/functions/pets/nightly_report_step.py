"""A cron step, so the Lambda cold-start scenario has one for the schedule entry point (once a year: it
never fires during a benchmark)."""

config = {"type": "cron", "name": "NightlyReport", "cron": "0 0 1 1 *", "emits": [], "flows": ["pets"]}


async def handler(ctx):
    ctx.logger.info("nightly report")

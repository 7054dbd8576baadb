config = {"type": "event", "name": "UndeclaredCheck", "subscribes": ["undeclared-check"], "flows": ["checks"]}


async def handler(input, ctx):
    ctx.logger.info("received", input)

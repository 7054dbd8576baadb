
config = {"type": "api", "name": "InvalidSet", "path": "/invalid-set/:group", "method": "POST", "flows": ["checks"]}


async def handler(req, ctx):
    try:
        await ctx.streams.items.set(req["pathParams"]["group"], "x", {"label": 42, "n": "many"})
    except Exception as exc:  # the step gets the error; nothing is written or pushed
        return {"status": 422, "body": {"error": type(exc).__name__, "detail": str(exc)}}
    return {"status": 200, "body": {"written": True}}

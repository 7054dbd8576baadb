from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="JobsApi", path="/jobs/:group", method="POST", flows=["shared"], emits=["job"])


async def handler(req, ctx):
    group = req["pathParams"]["group"]
    count = (req["body"] or {}).get("count", 1)
    for n in range(count):
        await ctx.emit({"topic": "job", "data": {"group": group, "n": n}})
    return {"status": 200, "body": {"emitted": count}}

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="StartJob", path="/jobs", method="POST", emits=["job.run"])


async def handler(req, ctx):
    body = req["body"]
    await ctx.emit({"topic": "job.run", "data": {"id": body["id"], "group": body["group"]}})
    return {"status": 202, "body": {"id": body["id"]}}

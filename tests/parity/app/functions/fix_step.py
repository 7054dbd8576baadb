from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="FixJobs", path="/jobs/fix", method="POST", emits=[])


async def handler(req, ctx):
    await ctx.state.set("jobs", "fixed", True)
    return {"status": 200, "body": {"fixed": True}}

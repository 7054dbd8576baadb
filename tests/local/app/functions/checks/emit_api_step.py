from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="EmitApi",
    path="/emit/:topic",
    method="POST",
    flows=["checks"],
    emits=["flaky", "ordered", "delayed", "undeclared-check", "typed"],
    response_schema={200: {"type": "object", "required": ["emitted"]}},
)


async def handler(req, ctx):
    topic = req["pathParams"]["topic"]
    body = req["body"] or {}
    if topic == "nowhere":
        await ctx.emit({"topic": "nowhere", "data": {}})  # not declared: raises EmitError → 500
    await ctx.emit({"topic": topic, "data": body.get("data", {}), "messageGroupId": body.get("group")})
    return {"status": 200, "body": {"emitted": topic, "traceId": ctx.trace_id}}

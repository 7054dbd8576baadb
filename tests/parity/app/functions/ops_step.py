from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="Ops", path="/ops", method="POST", emits=[])


async def handler(req, ctx):
    results = []
    for op in req["body"]["ops"]:
        stream = ctx.streams.jobs
        if op["op"] == "set":
            await stream.set(op["group"], op["id"], op["data"])
        elif op["op"] == "send":
            channel = {"groupId": op["group"], **({"id": op["id"]} if "id" in op else {})}
            await stream.send(channel, {"type": op["type"], "data": op.get("data")})
        elif op["op"] == "list":  # Motia 1.0's names: stream.list(groupId), state.list(scope)
            results.append(sorted((item["id"], item["status"]) for item in await stream.list(op["group"])))
        elif op["op"] == "state-set":
            await ctx.state.set(op["scope"], op["key"], op["value"])
        elif op["op"] == "state-list":
            results.append(sorted(value["n"] for value in await ctx.state.list(op["scope"])))
    return {"status": 200, "body": {"ok": True, "results": results}}

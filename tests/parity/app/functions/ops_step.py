from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="Ops", path="/ops", method="POST", emits=[])


async def handler(req, ctx):
    for op in req["body"]["ops"]:
        stream = ctx.streams.jobs
        if op["op"] == "set":
            await stream.set(op["group"], op["id"], op["data"])
        elif op["op"] == "send":
            channel = {"groupId": op["group"], **({"id": op["id"]} if "id" in op else {})}
            await stream.send(channel, {"type": op["type"], "data": op.get("data")})
    return {"status": 200, "body": {"ok": True}}

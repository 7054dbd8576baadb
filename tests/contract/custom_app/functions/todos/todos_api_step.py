from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="TodosApi", path="/todos/:stream/:id", method="POST", flows=["todos"])


async def handler(req, ctx):
    stream = ctx.streams[req["pathParams"]["stream"]]
    id, body = req["pathParams"]["id"], req["body"]
    if body.get("delete"):
        return {"status": 200, "body": await stream.delete("list", id)}
    return {"status": 200, "body": await stream.set("list", id, body)}

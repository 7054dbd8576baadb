from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="EchoHeaders", path="/echo-headers", method="GET", emits=[])


async def handler(req, ctx):
    headers = req["headers"]
    return {"status": 200, "body": {"tag": headers.get("x-tag"), "cookie": headers.get("cookie")}}

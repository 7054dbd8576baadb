"""Reads a state group back, as an app's API step would."""

config = {"type": "api", "name": "Read", "path": "/read/:group", "method": "GET", "emits": [], "flows": ["guard"]}


async def handler(req, ctx):
    return {"status": 200, "body": {"values": await ctx.state.get_group(req["pathParams"]["group"])}}

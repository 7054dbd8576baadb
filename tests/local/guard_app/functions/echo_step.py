"""Answers the body it was given (API steps get the JSON policy too)."""

config = {"type": "api", "name": "Echo", "path": "/echo", "method": "POST", "emits": [], "flows": ["guard"]}


async def handler(req, ctx):
    return {"status": 200, "body": {"echo": req["body"]}}

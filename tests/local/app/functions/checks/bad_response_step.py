config = {
    "type": "api", "name": "BadResponse", "path": "/bad-response", "method": "GET", "flows": ["checks"],
    "responseSchema": {200: {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}},
}


async def handler(req, ctx):
    return {"status": 200, "body": {"count": "not a number"}}

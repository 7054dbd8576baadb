"""Test endpoints that drive the ``items`` stream the way a step would."""

from motia_runtime import ApiRouteConfig
from motia_runtime.errors import ValidationError

config = ApiRouteConfig(
    name="ItemsApi",
    path="/items/:group/:id",
    method="POST",
    flows=["checks"],
    body_schema={
        "type": "object",
        "properties": {
            "op": {"enum": ["set", "delete", "send", "burst", "update", "history", "groups", "get"]},
            "ttl": {},
            "since": {},
            "data": {"type": "object"},
            "count": {"type": "integer", "minimum": 1},
            "event": {"type": "object"},
        },
        "required": ["op"],
    },
)


async def handler(req, ctx):
    group, id = req["pathParams"]["group"], req["pathParams"]["id"]
    body = req["body"]
    items = ctx.streams.items
    if body["op"] == "set":
        if "ttl" in body:
            try:
                return {"status": 200, "body": await items.set(group, id, body["data"], ttl=body["ttl"])}
            except ValidationError as exc:
                return {"status": 400, "body": {"error": str(exc), "errors": exc.errors}}
        return {"status": 200, "body": await items.set(group, id, body["data"])}
    if body["op"] == "history":
        try:
            return {"status": 200, "body": {"events": await items.history(group, body.get("since"))}}
        except ValidationError as exc:
            return {"status": 400, "body": {"error": str(exc), "errors": exc.errors}}
    if body["op"] == "groups":
        return {"status": 200, "body": {"groups": await items.list_groups()}}
    if body["op"] == "get":
        return {"status": 200, "body": {"item": await items.get(group, id), "group": await items.get_group(group)}}
    if body["op"] == "update":
        return {"status": 200, "body": await items.update(group, id, [{"type": "increment", "path": "n", "by": 1}])}
    if body["op"] == "delete":
        return {"status": 200, "body": await items.delete(group, id)}
    if body["op"] == "send":
        await items.send({"groupId": group, "id": id}, body["event"])
        return {"status": 202, "body": {"sent": True}}
    # burst: many sets of one item back to back, most within the same millisecond
    result = None
    for n in range(body.get("count", 2)):
        result = await items.set(group, id, {"label": f"burst {n}", "n": n})
    return {"status": 200, "body": result}

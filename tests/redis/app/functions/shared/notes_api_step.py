"""Drives the ``notes`` stream the way a step would, and says which worker process answered."""

import os

from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(
    name="NotesApi", path="/notes/:group/:id", method="POST", flows=["shared"],
    body_schema={"type": "object", "properties": {"op": {"enum": ["set", "delete", "send", "update", "get"]}},
                 "required": ["op"]},
)


async def handler(req, ctx):
    group, id, body = req["pathParams"]["group"], req["pathParams"]["id"], req["body"]
    notes = ctx.streams.notes
    if body["op"] == "set":
        result = await notes.set(group, id, body.get("data", {}))
    elif body["op"] == "update":
        result = await notes.update(group, id, [{"type": "increment", "path": "n", "by": 1}])
    elif body["op"] == "delete":
        result = await notes.delete(group, id)
    elif body["op"] == "get":
        result = await notes.get(group, id)
    else:
        await notes.send({"groupId": group, "id": id}, body["event"])
        result = None
    return {"status": 200, "body": {"pid": os.getpid(), "item": result}}

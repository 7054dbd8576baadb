"""A small Motia project written into a temporary root for the client tests.

``POST /ops`` runs a list of stream operations in order, so a test can make the server
create, update, delete and send exactly what it wants to observe, several in one millisecond
if it likes. ``streams/auth.py`` accepts no token (anonymous) or ``good-token`` and refuses
anything else; groups starting with ``private`` need a token (``can_access``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

GOOD_TOKEN = "good-token"

STREAM = '''
from pydantic import BaseModel

from motia_runtime import StreamConfig


class Todo(BaseModel):
    text: str
    done: bool = False


def can_access(subscription, auth_context):
    return not subscription["groupId"].startswith("private") or auth_context is not None


config = StreamConfig(name="todo", schema=Todo, can_access=can_access, public=True)
'''

# Presence and client events (the Python client's presence and send_event APIs).
ROOM_STREAM = '''
from pydantic import BaseModel

from motia_runtime import ClientEvents, Presence, StreamConfig


class Line(BaseModel):
    text: str


class Who(BaseModel):
    name: str


class Typing(BaseModel):
    name: str


config = StreamConfig(name="room", schema=Line, public=True, presence=Presence(schema=Who),
                      client_events=ClientEvents(types=["typing"], schema=Typing))
'''

AUTH = '''
def authenticate(request):
    token = request.get("authToken")
    if token is None:
        return None
    if token != "good-token":
        raise PermissionError("bad token")
    return {"user": "alice"}
'''

OPS_STEP = '''
from motia_runtime import ApiRouteConfig

config = ApiRouteConfig(name="Ops", path="/ops", method="POST", emits=[])


async def handler(req, ctx):
    results = []
    for op in req["body"]["ops"]:
        stream = ctx.streams[op.get("stream", "todo")]
        kind = op["op"]
        if kind == "set":
            results.append(await stream.set(op["group"], op["id"], op["data"]))
        elif kind == "update":
            results.append(await stream.update(op["group"], op["id"], op["ops"]))
        elif kind == "delete":
            results.append(await stream.delete(op["group"], op["id"]))
        elif kind == "send":
            channel = {"groupId": op["group"], **({"id": op["id"]} if "id" in op else {})}
            await stream.send(channel, {"type": op["type"], "data": op.get("data")})
            results.append(None)
    return {"status": 200, "body": {"results": results}}
'''


def write_project(root: Path) -> Path:
    (root / "streams").mkdir(parents=True, exist_ok=True)
    (root / "functions").mkdir(parents=True, exist_ok=True)
    (root / "streams" / "todo_stream.py").write_text(STREAM)
    (root / "streams" / "room_stream.py").write_text(ROOM_STREAM)
    (root / "streams" / "auth.py").write_text(AUTH)
    (root / "functions" / "ops_step.py").write_text(OPS_STEP)
    return root


async def ops(base_url: str, *operations: dict[str, Any]) -> list[Any]:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{base_url}/ops", json={"ops": list(operations)}, timeout=10)
    response.raise_for_status()
    return response.json()["results"]


def todo(group: str, id: str, text: str, done: bool = False) -> dict[str, Any]:
    return {"op": "set", "group": group, "id": id, "data": {"text": text, "done": done}}

"""``POST /pets``: one stream set() and one emit, as the peer's create-pet.step.ts does."""

import time

from pydantic import BaseModel


class NewPet(BaseModel):
    name: str | None = None
    startDelayMs: float | None = None  # noqa: N815 - the peer's wire names
    gapMs: float | None = None  # noqa: N815
    demoDelete: bool | None = None  # noqa: N815


config = {
    "type": "api", "name": "CreatePet", "path": "/pets", "method": "POST", "emits": ["pet.created"],
    "flows": ["pets"], "bodySchema": NewPet,
}


async def handler(req, ctx):
    body = req["body"] or {}
    name = body.get("name") or "Rex"
    result = await ctx.streams.petCreation.set(ctx.trace_id, "message", {
        "message": f"Creating pet {name}", "stage": "started", "progress": 0, "sentAt": time.time() * 1000, "seq": 0,
    })
    await ctx.emit({"topic": "pet.created", "data": {
        "name": name, "startDelayMs": body.get("startDelayMs") or 0, "gapMs": body.get("gapMs") or 0,
        "demoDelete": bool(body.get("demoDelete")),
    }})
    return {"status": 200, "body": {"traceId": ctx.trace_id, "result": result}}

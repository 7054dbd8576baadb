"""``POST /fanout``: ``updates`` stream set()s of one item, one after the other, each stamped with
``sentAt``: what the fan-out scenario (bench/fanout_local.py) times to every subscriber of ``group``.
Not one of the peer's steps: only our server is measured on it, beside a bare broadcast."""

import time

from pydantic import BaseModel


class Burst(BaseModel):
    group: str
    updates: int = 1


config = {
    "type": "api", "name": "FanoutBurst", "path": "/fanout", "method": "POST", "emits": [], "flows": ["bench"],
    "bodySchema": Burst,
}


async def handler(req, ctx):
    body = req["body"]
    for seq in range(body["updates"]):
        await ctx.streams.petCreation.set(body["group"], "message", {
            "message": "fan-out", "stage": "burst", "progress": seq, "sentAt": time.time() * 1000, "seq": seq,
        })
    return {"status": 200, "body": {"updates": body["updates"]}}

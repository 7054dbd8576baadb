"""``POST /fanout``: ``updates`` stream set()s of one item, one after the other, each stamped with
``sentAt``: what the fan-out scenario (bench/fanout_local.py) times to every subscriber of ``group``.
The Redis hop scenario (bench/redis_hop.py) uses it too: ``updates`` 0 answers which worker served the
connection. Not one of the peer's steps: only our server is measured on it, beside a bare broadcast."""

import os
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
    # pid: which worker ran it, for the Redis hop scenario (bench/redis_hop.py) under --workers 2
    return {"status": 200, "body": {"updates": body["updates"], "pid": os.getpid()}}

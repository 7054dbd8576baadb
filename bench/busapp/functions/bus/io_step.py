"""Event step on ``bench.io`` whose handler awaits 200 ms, as one calling a slow API would (bench/bus.py).
No ``infrastructure.queue.concurrency``: the bus's default applies."""

import asyncio

config = {"type": "event", "name": "IoBound", "subscribes": ["bench.io"], "emits": [], "flows": ["bench"]}


async def handler(data, ctx):
    await asyncio.sleep(data.get("ms", 200) / 1000)

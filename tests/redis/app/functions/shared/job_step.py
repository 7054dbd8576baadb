"""Counts its runs per job in the stream; retried (every 200 ms) while storage is unreachable."""

import asyncio
import os

config = {
    "type": "event", "name": "Job", "subscribes": ["job"], "flows": ["shared"],
    "infrastructure": {"queue": {"maxRetries": 100, "backoffDelayMs": 200, "backoffType": "fixed"}},
}


async def handler(input, ctx):
    await asyncio.sleep(0.005)  # long enough for another worker to claim the same message, if it could
    await ctx.streams.notes.update(input["group"], f"job-{input['n']}", [
        {"type": "increment", "path": "runs", "by": 1},
        {"type": "set", "path": "pid", "value": os.getpid()},
    ])

"""Event step on ``pet.created``: five awaited set()s, each stamped with ``sentAt`` just before the
call, then two custom events (peer: pet-progress.step.ts)."""

import asyncio
import time

STAGES = ["validating", "allocating", "naming", "vaccinating", "done"]

config = {"type": "event", "name": "PetProgress", "subscribes": ["pet.created"], "emits": [], "flows": ["pets"]}


async def handler(data, ctx):
    stream = ctx.streams.petCreation
    if data.get("startDelayMs"):
        await asyncio.sleep(data["startDelayMs"] / 1000)
    for i in range(1, 6):
        if i > 1 and data.get("gapMs"):
            await asyncio.sleep(data["gapMs"] / 1000)
        await stream.set(ctx.trace_id, "message", {
            "message": f"Pet {data['name']}: {STAGES[i - 1]}", "stage": STAGES[i - 1], "progress": i * 20,
            "sentAt": time.time() * 1000, "seq": i,
        })
    await stream.send({"groupId": ctx.trace_id},
                      {"type": "pet-ready", "data": {"name": data["name"], "sentAt": time.time() * 1000}})
    await stream.send({"groupId": ctx.trace_id, "id": "message"},
                      {"type": "pet-ready-item", "data": {"name": data["name"], "sentAt": time.time() * 1000}})
    if data.get("demoDelete"):
        await stream.set(ctx.trace_id, "scratch", {"message": "temp", "stage": "tmp", "progress": 1,
                                                   "sentAt": time.time() * 1000, "seq": 99})
        await stream.delete(ctx.trace_id, "scratch")

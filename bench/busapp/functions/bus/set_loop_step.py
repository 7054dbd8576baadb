"""``POST /set-loop`` {group, n}: n awaited set()s of one item in a loop, as a step importing a batch
would (bench/bus_scenarios.py: another client's frames must not wait behind the loop)."""

config = {"type": "api", "name": "SetLoop", "path": "/set-loop", "method": "POST", "emits": [], "flows": ["bench"]}


async def handler(req, ctx):
    body = req["body"] or {}
    group, n = body.get("group", "loop"), int(body.get("n", 2000))
    items = ctx.streams.items
    for i in range(n):
        await items.set(group, "item", {"n": i, "label": "progress"})
    return {"status": 200, "body": {"sets": n}}

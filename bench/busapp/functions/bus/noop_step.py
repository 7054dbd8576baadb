"""Event step on ``bench.noop`` that does nothing: the bus's own cost per event (bench/bus.py)."""

config = {"type": "event", "name": "Noop", "subscribes": ["bench.noop"], "emits": [], "flows": ["bench"]}


async def handler(data, ctx):
    return None

"""Writes a value JSON cannot carry (made here: a JSON body cannot hold it) to state or a stream,
and answers what the write did: stored, or the error it raised."""

from motia_runtime.errors import MotiaError

config = {"type": "api", "name": "Write", "path": "/write/:where/:kind", "method": "POST", "emits": [],
          "flows": ["guard"]}

VALUES = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "surrogate": "a\ud800b",
          "bigint": 10**4400, "ok": 1.5}


async def handler(req, ctx):
    where, kind = req["pathParams"]["where"], req["pathParams"]["kind"]
    value = {"nested": [VALUES[kind]]}
    try:
        if where == "state":
            await ctx.state.set("poison", kind, value)
        else:
            await ctx.streams.board.set("poison", kind, value)
    except MotiaError as exc:
        return {"status": 400, "body": {"error": str(exc), "type": type(exc).__name__}}
    return {"status": 200, "body": {"stored": True}}

"""``GET /ping`` → ``{"ok": true}``: the trivial API step of the throughput scenario (peer: ping.step.ts)."""

config = {"type": "api", "name": "Ping", "path": "/ping", "method": "GET", "emits": [], "flows": ["pets"]}


async def handler(req, ctx):
    return {"status": 200, "body": {"ok": True}}

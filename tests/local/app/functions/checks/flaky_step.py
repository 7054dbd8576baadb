"""Fails until it has been tried ``data.succeedOn`` times (never, when absent)."""

config = {
    "type": "event", "name": "Flaky", "subscribes": ["flaky"], "flows": ["checks"],
    "infrastructure": {"queue": {"maxRetries": 2, "backoffDelayMs": 50, "backoffType": "fixed"}},
}


async def handler(input, ctx):
    key = input.get("key", "default")
    attempts = (await ctx.state.get("flaky", key) or 0) + 1
    await ctx.state.set("flaky", key, attempts)
    if attempts < input.get("succeedOn", 10**9):
        raise RuntimeError(f"flaky failure {attempts}")
    await ctx.state.set("flaky-done", key, attempts)

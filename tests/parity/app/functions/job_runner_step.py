from motia_runtime import EventConfig

# Fails until POST /jobs/fix: tried max_retries + 1 = 3 times, then dead-lettered; a redrive
# after the fix succeeds. Short visibility and backoff so every host retries within seconds.
config = EventConfig(name="JobRunner", subscribes=["job.run"], emits=[],
                     infrastructure={"handler": {"timeout": 3},
                                     "queue": {"max_retries": 2, "visibility_timeout": 3, "backoff_type": "fixed",
                                               "backoff_delay_ms": 200}})


async def handler(input, ctx):
    attempts = (await ctx.state.get("attempts", input["id"]) or 0) + 1
    await ctx.state.set("attempts", input["id"], attempts)
    if not await ctx.state.get("jobs", "fixed"):
        raise RuntimeError(f"job {input['id']}: not fixed yet (attempt {attempts})")
    await ctx.streams.jobs.set(input["group"], input["id"], {"status": "done", "attempts": attempts})

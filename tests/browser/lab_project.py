"""A small project for the Workbench tests of what the repo's app cannot show on demand: an event
step that fails until it is allowed (dead letters, retry, drop), a cron step (next run, Run now),
a noop step with virtual edges, state and a stream item with ``progress``.

Flow ``lab``::

    POST /jobs (StartJob) ──job.requested──▶ RunJob ──job.done──▶ ┄┄ Review (noop) ┄┄▶ job.approved
    Nightly (cron) ─────────job.requested──▶
    POST /allow (Allow): sets state lab/allowed, so RunJob stops failing in mode until-allowed
    (mode fail always fails)

Flow ``vault``, on the private stream ``vault`` (no ``public=True``: anonymous clients are
refused, the Workbench watches it with a token it asks ``motia dev`` for)::

    POST /secret-jobs (StartSecretJob) ──secret.requested──▶ RunSecretJob (progress 0 → 50 → 100)
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

FILES = {
    "streams/jobs_stream.py": '''
        from pydantic import BaseModel

        from motia_runtime import StreamConfig


        class Job(BaseModel):
            status: str
            progress: int


        config = StreamConfig(name="jobs", schema=Job, description="One item per job", public=True)
    ''',
    "streams/vault_stream.py": '''
        from pydantic import BaseModel

        from motia_runtime import StreamConfig


        class Secret(BaseModel):
            status: str
            progress: int


        config = StreamConfig(name="vault", schema=Secret, description="Private: one item per secret job")
    ''',
    "functions/vault/start_secret_job_step.py": '''
        from motia_runtime import ApiRouteConfig

        config = ApiRouteConfig(name="StartSecretJob", path="/secret-jobs", method="POST", emits=["secret.requested"],
                                flows=["vault"], description="Start a job whose progress is in a private stream")


        async def handler(req, ctx):
            item = await ctx.streams.vault.set(ctx.trace_id, "job", {"status": "queued", "progress": 0})
            await ctx.emit({"topic": "secret.requested", "data": {}})
            return {"status": 202, "body": item}
    ''',
    "functions/vault/run_secret_job_step.py": '''
        import asyncio

        from motia_runtime import EventConfig

        config = EventConfig(name="RunSecretJob", subscribes=["secret.requested"], flows=["vault"])


        async def handler(input, ctx):
            # Slow enough that a page watching the item sees each stage arrive.
            for status, progress in (("working", 50), ("done", 100)):
                await asyncio.sleep(0.6)
                await ctx.streams.vault.set(ctx.trace_id, "job", {"status": status, "progress": progress})
    ''',
    "functions/lab/start_job_step.py": '''
        from motia_runtime import ApiRouteConfig

        config = ApiRouteConfig(
            name="StartJob", path="/jobs", method="POST", emits=["job.requested"], flows=["lab"],
            description="Queue a job; returns its stream item",
            body_schema={"type": "object", "required": ["mode"],
                         "properties": {"mode": {"type": "string", "enum": ["ok", "until-allowed", "fail"]}}},
        )


        async def handler(req, ctx):
            item = await ctx.streams.jobs.set(ctx.trace_id, "job", {"status": "queued", "progress": 0})
            await ctx.emit({"topic": "job.requested", "data": {"mode": req["body"]["mode"]}})
            ctx.logger.info("job queued", {"mode": req["body"]["mode"]})
            return {"status": 202, "body": item}
    ''',
    "functions/lab/run_job_step.py": '''
        from motia_runtime import EventConfig

        config = EventConfig(
            name="RunJob", subscribes=["job.requested"], emits=["job.done"], flows=["lab"],
            infrastructure={"queue": {"maxRetries": 0}},
        )


        async def handler(input, ctx):
            if input["mode"] == "fail":
                raise RuntimeError("boom: this job always fails")
            if input["mode"] == "until-allowed" and not await ctx.state.get("lab", "allowed"):
                raise RuntimeError("not allowed yet")
            await ctx.streams.jobs.set(ctx.trace_id, "job", {"status": "done", "progress": 100})
            await ctx.state.set("jobs", ctx.trace_id, {"mode": input["mode"], "done": True})
            ctx.logger.info("job done")
            await ctx.emit({"topic": "job.done", "data": {}})
    ''',
    "functions/lab/allow_step.py": '''
        from motia_runtime import ApiRouteConfig

        config = ApiRouteConfig(name="Allow", path="/allow", method="POST", flows=["lab"])


        async def handler(req, ctx):
            await ctx.state.set("lab", "allowed", True)
            return {"status": 200, "body": {"allowed": True}}
    ''',
    "functions/lab/nightly_step.py": '''
        from motia_runtime import CronConfig

        config = CronConfig(name="Nightly", cron="0 3 * * *", emits=["job.requested"], flows=["lab"],
                            description="Runs a job every night")


        async def handler(ctx):
            ctx.logger.info("nightly run")
            await ctx.emit({"topic": "job.requested", "data": {"mode": "ok"}})
    ''',
    "functions/lab/review_step.py": '''
        from motia_runtime import NoopConfig

        config = NoopConfig(name="Review", virtual_subscribes=["job.done"], virtual_emits=["job.approved"],
                            flows=["lab"], description="A person reviews the job")
    ''',
}


def write_lab(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())
    return root

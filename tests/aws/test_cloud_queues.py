"""Event steps on the harness: retries ending in the DLQ, invalid input, the FIFO path, cron."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.testing import CloudSim

FILES = {
    "functions/jobs_case/enqueue_step.py": '''
        config = {"type": "api", "name": "Enqueue", "path": "/jobs", "method": "POST",
                  "emits": ["job.fail", "job.ordered", "job.typed", "job.backoff"]}

        async def handler(req, ctx):
            body = req["body"]
            await ctx.emit({"topic": body["topic"], "data": body["data"], **({"messageGroupId": body["group"]}
                                                                           if "group" in body else {})})
            return {"status": 202, "body": {"traceId": ctx.trace_id}}
    ''',
    "functions/jobs_case/fail_step.py": '''
        config = {"type": "event", "name": "FailJob", "subscribes": ["job.fail"],
                  "infrastructure": {"queue": {"maxRetries": 1}}}

        async def handler(input, ctx):
            attempts = (await ctx.state.get("attempts", ctx.trace_id) or 0) + 1
            await ctx.state.set("attempts", ctx.trace_id, attempts)
            raise RuntimeError(f"attempt {attempts} failed")
    ''',
    "functions/jobs_case/backoff_step.py": '''
        config = {"type": "event", "name": "BackoffJob", "subscribes": ["job.backoff"],
                  "infrastructure": {"queue": {"maxRetries": 3, "backoffDelayMs": 2000, "backoffType": "exponential"},
                                     "handler": {"timeout": 20}}}

        async def handler(input, ctx):
            raise RuntimeError("always")
    ''',
    "functions/jobs_case/fixed_step.py": '''
        config = {"type": "event", "name": "FixedJob", "subscribes": ["job.backoff"],
                  "infrastructure": {"queue": {"maxRetries": 2, "backoffDelayMs": 1500, "backoffType": "fixed",
                                               "visibilityTimeout": 120}}}

        async def handler(input, ctx):
            raise RuntimeError("always")
    ''',
    "functions/jobs_case/ordered_step.py": '''
        config = {"type": "event", "name": "OrderedJob", "subscribes": ["job.ordered"],
                  "infrastructure": {"queue": {"type": "fifo"}}}

        async def handler(input, ctx):
            seen = await ctx.state.get("order", input["group"]) or []
            await ctx.state.set("order", input["group"], [*seen, input["n"]])
    ''',
    "functions/jobs_case/typed_step.py": '''
        config = {"type": "event", "name": "TypedJob", "subscribes": ["job.typed"],
                  "input": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
                  "infrastructure": {"queue": {"maxRetries": 1}}}

        async def handler(input, ctx):
            await ctx.state.set("typed", ctx.trace_id, input["n"])
    ''',
    "functions/jobs_case/tick_step.py": '''
        config = {"type": "cron", "name": "Tick", "cron": "*/5 * * * *"}

        async def handler(ctx):
            await ctx.state.set("ticks", ctx.trace_id, True)
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path]) -> Iterator[CloudSim]:
    with CloudSim(make_project("jobs", FILES)) as sim:
        yield sim


def state(sim: CloudSim, group: str, key: str) -> Any:
    return sim.run(lambda runtime: runtime.state.get(group, key))


def post(sim: CloudSim, **body: Any) -> str:
    response = sim.http("POST", "/jobs", json=body)
    assert response.status == 202, response.body
    trace_id: str = response.json()["traceId"]
    return trace_id


def test_a_failing_step_is_retried_then_dead_lettered(sim: CloudSim) -> None:
    trace_id = post(sim, topic="job.fail", data={"id": 7})
    assert sim.deliver() == 1  # first attempt
    assert state(sim, "attempts", trace_id) == 1
    sim.run_until_idle()
    assert state(sim, "attempts", trace_id) == 2  # maxRetries 1: two attempts in all
    dead = sim.dead_letters("FailJob")
    assert len(dead) == 1
    assert dead[0]["detail-type"] == "job.fail"
    assert dead[0]["detail"]["data"] == {"id": 7} and dead[0]["detail"]["traceId"] == trace_id
    assert sim.deliver() == 0  # nothing left on the step's own queue


def test_each_retry_waits_the_steps_backoff_then_the_event_is_dead_lettered(sim: CloudSim) -> None:
    post(sim, topic="job.backoff", data={"id": 1})
    sim.run_until_idle()
    # The delay the function set on each failed message (ChangeMessageVisibility), as the local
    # host waits: exponential 2 s, 4 s, 8 s; fixed 1.5 s (SQS takes whole seconds: 2). After the
    # last attempt, 0: visible at once, so SQS moves it to the DLQ on the next receive.
    assert sim.retry_delays["BackoffJob"] == [2, 4, 8, 0]
    assert sim.retry_delays["FixedJob"] == [2, 2, 0]
    assert [d["detail"]["data"] for d in sim.dead_letters("BackoffJob")] == [{"id": 1}]
    assert [d["detail"]["data"] for d in sim.dead_letters("FixedJob")] == [{"id": 1}]
    # Unset, the visibility timeout (a run that dies without reporting) is 6 x the handler timeout.
    attributes = sim.client("sqs").get_queue_attributes(QueueUrl=sim.resources.queues["BackoffJob"].url,
                                                        AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "120"


def test_invalid_input_never_reaches_the_handler_and_ends_in_the_dlq(sim: CloudSim) -> None:
    trace_id = post(sim, topic="job.typed", data={"n": "seven"})
    assert sim.deliver() == 1
    assert state(sim, "typed", trace_id) is None
    # Dead-lettered by the function at once, not reported failed and retried (maxRetries 1).
    assert sim.retry_delays["TypedJob"] == []
    assert [d["detail"]["data"] for d in sim.dead_letters("TypedJob")] == [{"n": "seven"}]
    ok = post(sim, topic="job.typed", data={"n": 7})
    sim.run_until_idle()
    assert state(sim, "typed", ok) == 7


def test_fifo_steps_get_events_straight_from_the_emitter_in_order(sim: CloudSim) -> None:
    assert sim.resources.queues["OrderedJob"].fifo
    assert "OrderedJob" not in sim.resources.rules  # no EventBridge rule: the emitter sends to the queue
    routes = json.loads(sim.resources.functions["Enqueue"].env["MOTIA_FIFO_QUEUES"])  # from the template
    assert routes == {"job.ordered": [sim.resources.queues["OrderedJob"].url]}
    for n in range(1, 6):
        post(sim, topic="job.ordered", data={"group": "pet-1", "n": n}, group="pet-1")
        post(sim, topic="job.ordered", data={"group": "pet-2", "n": n * 10}, group="pet-2")
    sim.run_until_idle()
    assert state(sim, "order", "pet-1") == [1, 2, 3, 4, 5]
    assert state(sim, "order", "pet-2") == [10, 20, 30, 40, 50]


def test_a_fifo_emit_without_a_group_id_is_refused(sim: CloudSim) -> None:
    response = sim.http("POST", "/jobs", json={"topic": "job.ordered", "data": {"group": "g", "n": 1}})
    assert response.status == 500
    assert sim.deliver() == 0


def test_cron_runs_its_step_as_a_new_trace(sim: CloudSim) -> None:
    first, second = sim.cron("Tick"), sim.cron("Tick")
    assert first["ok"] and second["ok"] and first["traceId"] != second["traceId"]
    assert state(sim, "ticks", first["traceId"]) is True

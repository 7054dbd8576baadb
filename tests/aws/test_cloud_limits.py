"""Request bodies over MOTIA_MAX_BODY_BYTES are answered 413 by the AWS API entry too (API
Gateway's own limits, 10 MB for HTTP APIs and 6 MB for a Lambda payload, are above it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from motia_runtime.testing import CloudSim


def test_the_aws_api_entry_answers_413_too(make_project: Callable[[str, dict[str, str]], Path]) -> None:
    files = {"functions/limits_case/echo_step.py": '''
config = {"type": "api", "name": "Echo", "path": "/echo", "method": "POST", "emits": []}
async def handler(req, ctx):
    return {"status": 200, "body": {"size": len(req["rawBody"])}}
'''}
    with CloudSim(make_project("limits_aws", files)) as sim:
        assert sim.http("POST", "/echo", json={"x": "y" * 1000}).json() == {"size": 1009}
        big = sim.http("POST", "/echo", json={"x": "y" * (1024 * 1024)})  # the default limit, 1 MiB
        assert big.status == 413 and "too large" in big.json()["error"]

"""The harness itself: it refuses a template that disagrees with the runtime, and leaves the
interpreter as it found it."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from motia_runtime.project import load_project
from motia_runtime.testing import CloudSim, SimError
from motia_runtime.tools.template import build_template

PING = '''
    config = {"type": "api", "name": "Ping", "path": "/ping/:id", "method": "GET"}

    async def handler(req, ctx):
        return {"status": 200, "body": {"pong": req["pathParams"]["id"]}}
'''


def test_a_handler_string_the_runtime_does_not_have_is_refused(make_project: Callable[..., Path]) -> None:
    root = make_project("harness", {"functions/harness_bad/ping_step.py": PING})
    template = copy.deepcopy(build_template(load_project(root)))
    function = next(r for r in template["Resources"].values() if r.get("Metadata", {}).get("Motia", {}).get("step"))
    function["Properties"]["Handler"] = "app.handler"
    with pytest.raises(SimError, match=r"app\.handler"):
        CloudSim(root, template=template).start()
    assert "MOTIA_STATE_TABLE" not in os.environ


def test_the_simulation_cleans_up_after_itself(make_project: Callable[..., Path]) -> None:
    root = make_project("harness", {"functions/harness_clean/ping_step.py": PING})
    before_env = dict(os.environ)
    with CloudSim(root) as sim:
        assert sim.http("GET", "/ping/7").json() == {"pong": "7"}
        assert "functions.harness_clean.ping_step" in sys.modules
    assert "functions.harness_clean.ping_step" not in sys.modules
    assert str(root) not in sys.path
    assert dict(os.environ) == before_env

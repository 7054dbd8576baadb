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


GREET = '''
    config = {"type": "api", "name": "Greet", "path": "/greet", "method": "GET"}

    async def handler(req, ctx):
        return {"status": 200, "body": {"hi": True}}
'''


def test_each_simulated_function_keeps_its_own_runtime_and_the_process_keeps_none(
        make_project: Callable[..., Path]) -> None:
    from motia_runtime.hosts.aws import bootstrap

    root = make_project("harness", {"functions/harness_fns/ping_step.py": PING,
                                    "functions/harness_fns/greet_step.py": GREET})
    with CloudSim(root) as sim:
        assert sim.http("GET", "/ping/1").json() == {"pong": "1"}
        assert sim.http("GET", "/greet").json() == {"hi": True}
        functions = dict(sim._functions)  # what the simulation keeps, per function
        ping, greet = (next(f for f in functions.values() if f.step_name == name) for name in ("Ping", "Greet"))
        warm = ping.runtime()
        assert warm is not greet.runtime() and set(warm.project.steps) == {"Ping"}  # each loads its own step
        assert sim.http("GET", "/ping/2").json() == {"pong": "2"}
        assert ping.runtime() is warm  # warm: kept between calls
        # Nothing is kept at module level: the process's own function (Lambda's) was never made.
        assert bootstrap._process is None
        sim.cold_start()
        assert sim.http("GET", "/ping/3").json() == {"pong": "3"}
        assert next(f for f in sim._functions.values() if f.step_name == "Ping").runtime() is not warm


def test_on_lambda_the_entry_point_makes_one_function_per_process_on_first_use(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import os\n"
        "from motia_runtime.hosts.aws import api, bootstrap\n"
        "assert bootstrap._process is None  # not at import: the cold start pays nothing for it\n"
        "first = bootstrap.current()\n"
        "assert bootstrap.current() is first and first.settings.step == 'Ping' and first.env is os.environ\n"
        "other = bootstrap.Function({'MOTIA_STEP': 'Other'})\n"
        "with bootstrap.serving(other):\n"
        "    assert bootstrap.step_name() == 'Other' and bootstrap.current() is other\n"
        "assert bootstrap.current() is first and bootstrap.step_name() == 'Ping'\n"
        "print('ok')\n"
    )
    env = {**os.environ, "MOTIA_STEP": "Ping", "MOTIA_PROJECT_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr

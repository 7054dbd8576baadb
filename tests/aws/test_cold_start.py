"""What a Lambda function loads at its cold start, checked in fresh interpreters.

A function imports the step its template names (``MOTIA_STEP_FILE``) and the streams, not the
other steps nor what they import; the WebSocket function no step at all. Whole-project
validation stays with ``motia check`` (and ``motia dev``, ``motia generate``): a broken step
fails them, and only its own function. On Lambda the cyclic garbage collector is paused while
the entry module is imported and the project is loaded (``hosts/aws/_gc.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from .conftest import ProjectFactory

STEPS = {
    "functions/shop/buy_step.py": """
        from . import buy_helper
        config = {"type": "api", "name": "Buy", "path": "/buy", "method": "POST", "emits": ["bought"]}
        async def handler(req, ctx):
            return {"status": 200, "body": buy_helper.VALUE}
    """,
    "functions/shop/buy_helper.py": "VALUE = 1\n",
    "functions/shop/ship_step.py": """
        from . import ship_helper
        config = {"type": "event", "name": "Ship", "subscribes": ["bought"]}
        async def handler(input, ctx):
            pass
    """,
    "functions/shop/ship_helper.py": "VALUE = 2\n",
    "functions/shop/report_step.py": """
        config = {"type": "cron", "name": "Report", "cron": "0 0 * * *"}
        async def handler(ctx):
            pass
    """,
    "streams/cart_stream.py": """
        config = {"name": "cart", "schema": {"type": "object"}, "public": True}
    """,
    "streams/auth.py": """
        def authenticate(request):
            return None
    """,
}

PROBE = """
import gc, json, os, sys
from motia_runtime.hosts.aws import {entry}, bootstrap
imported = {{"gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}}
runtime = bootstrap.runtime({args})
step = bootstrap.step({kind!r}).name if {kind!r} else None
print(json.dumps({{
    "step": step, "steps": sorted(runtime.project.steps), "complete": runtime.project.complete,
    "streams": sorted(runtime.streams), "authenticate": runtime.project.authenticate is not None,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("functions", "streams")),
    "after_import": imported, "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
    "sdk": sorted(m for m in ("boto3", "botocore") if m in sys.modules),
    "step_models": sorted(c.__name__ for c in _subclasses(_StepBase)),
}}))
"""
STEP_MODEL_PROBE = """
from motia_runtime.config import _StepBase

def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
"""


def template_variables(root: Path) -> dict[str, dict[str, str]]:
    """Each step function's literal variables in the generated template (a fresh interpreter)."""
    code = textwrap.dedent("""
        import json, sys
        from motia_runtime.project import load_project
        from motia_runtime.tools.template import build_template
        out = {}
        for resource in build_template(load_project(sys.argv[1]))["Resources"].values():
            step = resource.get("Metadata", {}).get("Motia", {}).get("step")
            if step and resource["Type"] == "AWS::Serverless::Function":
                variables = resource["Properties"]["Environment"]["Variables"]
                out[step] = {k: v for k, v in variables.items() if isinstance(v, str)}
        print(json.dumps(out))
    """)
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


# Probes already run on the module's shared shop project (which no test changes), by their
# arguments: several tests assert different things about the same cold start, and one fresh
# interpreter answers them all (a probe is ~0.35 s of CPU; 7 of the module's 34 were repeats).
_SHOP_PROBES: dict[tuple[str, ...], dict[str, Any]] = {}


def cold_start(root: Path, entry: str, env: dict[str, str], kind: str = "", args: str = "",
               lambda_env: bool = True) -> dict[str, Any]:
    """Import the entry point and build what its first invocation builds, in a fresh interpreter
    with the function's environment (and Lambda's ``AWS_LAMBDA_RUNTIME_API`` unless told not).
    On the shared ``shop`` project, the same arguments give the first such probe's report."""
    key = (str(root), entry, json.dumps(env, sort_keys=True), kind, args, str(lambda_env))
    if key not in _SHOP_PROBES:
        _SHOP_PROBES[key] = _cold_start(root, entry, env, kind, args, lambda_env)
    return _SHOP_PROBES[key]


def _cold_start(root: Path, entry: str, env: dict[str, str], kind: str, args: str,
                lambda_env: bool) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "AWS_LAMBDA_"))}
    base.update({"MOTIA_PROJECT_ROOT": str(root), "AWS_LAMBDA_FUNCTION_NAME": "probe", "MOTIA_STATE_TABLE": "state",
                 "MOTIA_STREAMS_TABLE": "streams", "MOTIA_EVENT_BUS": "bus", **env})
    if lambda_env:
        base["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001"
    code = STEP_MODEL_PROBE + PROBE.format(entry=entry, kind=kind, args=args)
    out = subprocess.run([sys.executable, "-c", code], env=base, cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, source in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(source))
    return root


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop, written once for the module: the tests that take it only read it (the broken
    step's test writes its own), so their probes of the same function are run once (cold_start)."""
    return _write(tmp_path_factory.mktemp("shop") / "shop", STEPS)


_SHOP_VARIABLES: dict[Path, dict[str, dict[str, str]]] = {}


def shop_variables(shop: Path) -> dict[str, dict[str, str]]:
    """template_variables of the shared shop, computed once (it does not change)."""
    if shop not in _SHOP_VARIABLES:
        _SHOP_VARIABLES[shop] = template_variables(shop)
    return _SHOP_VARIABLES[shop]


def test_each_function_imports_its_own_step_and_the_streams_only(shop: Path) -> None:
    variables = shop_variables(shop)
    assert variables["Buy"] == {"MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "functions/shop/buy_step.py"}
    streams = ["streams", "streams.auth", "streams.cart_stream"]
    buy = cold_start(shop, "api", variables["Buy"], "api")
    assert (buy["step"], buy["steps"], buy["complete"], buy["streams"]) == ("Buy", ["Buy"], False, ["cart"])
    assert buy["modules"] == sorted(["functions", "functions.shop", "functions.shop.buy_helper",
                                     "functions.shop.buy_step", *streams])
    # The SDK, botocore's exceptions included, comes with the first AWS call, not before.
    assert buy["sdk"] == []
    ship = cold_start(shop, "queue", variables["Ship"], "event")
    assert (ship["step"], ship["steps"]) == ("Ship", ["Ship"])
    assert "functions.shop.buy_step" not in ship["modules"] and "functions.shop.ship_helper" in ship["modules"]
    report = cold_start(shop, "schedule", variables["Report"], "cron")
    assert (report["step"], report["steps"]) == ("Report", ["Report"])
    # The WebSocket function: streams and authenticate, no step.
    ws = cold_start(shop, "websocket", {}, args="steps=False")
    assert (ws["steps"], ws["streams"], ws["authenticate"], ws["modules"]) == ([], ["cart"], True, streams)


def test_each_function_creates_its_own_step_types_config_model_only(shop: Path) -> None:
    # A pydantic model class costs some 100-300 us to create (bench/optimisations.md, row 19): a
    # function creates the model of the step it serves (a trigger step's includes EventConfig,
    # its base), none for the WebSocket function; motia dev, check and generate create them all.
    variables = shop_variables(shop)
    assert cold_start(shop, "api", variables["Buy"], "api")["step_models"] == ["ApiRouteConfig"]
    assert cold_start(shop, "queue", variables["Ship"], "event")["step_models"] == ["EventConfig"]
    assert cold_start(shop, "schedule", variables["Report"], "cron")["step_models"] == ["CronConfig"]
    assert cold_start(shop, "websocket", {}, args="steps=False")["step_models"] == []
    whole = cold_start(shop, "api", {"MOTIA_STEP": "Buy"}, "api")  # no MOTIA_STEP_FILE: every step
    assert whole["step_models"] == ["ApiRouteConfig", "CronConfig", "EventConfig"]


def test_a_broken_step_fails_motia_check_and_its_own_function_only(make_project: ProjectFactory) -> None:
    shop = make_project("shop", STEPS)  # its own copy: it breaks a step
    (shop / "functions/shop/ship_step.py").write_text("raise RuntimeError('ship is broken')\n")
    check = subprocess.run([sys.executable, "-m", "motia_runtime.cli.main", "check", "--root", str(shop)],
                           capture_output=True, text=True)
    assert check.returncode != 0 and "ship_step.py" in check.stderr + check.stdout
    env = {"MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "functions/shop/buy_step.py"}
    assert cold_start(shop, "api", env, "api")["step"] == "Buy"
    assert cold_start(shop, "websocket", {}, args="steps=False")["streams"] == ["cart"]
    probe = subprocess.run(
        [sys.executable, "-c", "from motia_runtime.hosts.aws import bootstrap; bootstrap.runtime()"],
        env={**os.environ, "MOTIA_PROJECT_ROOT": str(shop), "MOTIA_STEP": "Ship",
             "MOTIA_STEP_FILE": "functions/shop/ship_step.py"}, capture_output=True, text=True)
    assert probe.returncode != 0 and "ship is broken" in probe.stderr


@pytest.mark.parametrize("env", [
    {"MOTIA_STEP": "Buy"},  # a template from before MOTIA_STEP_FILE
    {"MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "functions/shop/ship_step.py"},  # a stale one: another step
    {"MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "functions/shop/gone_step.py"},
    {"MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "../elsewhere/buy_step.py"},
    # An emitter of FIFO topics: its emits are checked against the FIFO steps, which only the
    # whole project knows.
    {"MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "functions/shop/buy_step.py",
     "MOTIA_FIFO_QUEUES": '{"bought": ["https://sqs.us-east-1.amazonaws.com/1/q.fifo"]}'},
], ids=["no file", "another step's file", "missing file", "outside functions", "fifo emitter"])
def test_otherwise_the_whole_project_is_loaded(shop: Path, env: dict[str, str]) -> None:
    loaded = cold_start(shop, "api", env, "api")
    assert (loaded["step"], loaded["complete"], loaded["steps"]) == ("Buy", True, ["Buy", "Report", "Ship"])


def test_the_collector_is_paused_on_lambda_only(shop: Path) -> None:
    env = {"MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "functions/shop/buy_step.py"}
    on_lambda = cold_start(shop, "api", env, "api")
    # Back on once the entry module is imported, and after the project is loaded; what was built
    # is frozen (not traversed again by later collections).
    assert on_lambda["after_import"]["gc_enabled"] and on_lambda["after_import"]["frozen"] > 10_000
    assert on_lambda["gc_enabled"] and on_lambda["frozen"] > on_lambda["after_import"]["frozen"]
    elsewhere = cold_start(shop, "api", env, "api", lambda_env=False)
    assert elsewhere["gc_enabled"] and elsewhere["frozen"] == 0 and elsewhere["after_import"]["frozen"] == 0


def test_the_collector_stays_off_when_it_was_off(shop: Path) -> None:
    env = {**os.environ, "MOTIA_PROJECT_ROOT": str(shop), "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
           "MOTIA_STEP": "Buy", "MOTIA_STEP_FILE": "functions/shop/buy_step.py"}
    code = ("import gc; gc.disable()\nfrom motia_runtime.hosts.aws import api, bootstrap\nbootstrap.runtime()\n"
            "print(gc.isenabled(), gc.get_freeze_count())")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=shop, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "0"]


def test_the_fan_out_resumes_the_collector_when_its_handler_starts(shop: Path) -> None:
    env = {**os.environ, "MOTIA_PROJECT_ROOT": str(shop), "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
    code = ("import gc\nfrom motia_runtime.hosts.aws import fanout\npaused = not gc.isenabled()\n"
            "fanout.handler({'Records': []})\nprint(paused, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=shop, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["True", "True"]


WATCH_STEP = """
    config = {"type": "stream", "name": "Watch", "streamName": "cart", "events": ["create"]}
    async def handler(change, ctx):
        pass
"""


def test_the_triggers_function_loads_its_trigger_steps_only(make_project: ProjectFactory) -> None:
    root = make_project("watched", {**STEPS, "functions/shop/watch_step.py": WATCH_STEP})
    code = textwrap.dedent("""
        import json, sys
        from motia_runtime.project import load_project
        from motia_runtime.tools.template import build_template
        function = build_template(load_project(sys.argv[1]))["Resources"]["TriggersFunction"]
        print(json.dumps(function["Properties"]["Environment"]["Variables"]["MOTIA_STEP_FILES"]))
    """)
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True)
    files = json.loads(out.stdout)
    assert files == "functions/shop/watch_step.py"
    loaded = cold_start(root, "triggers", {"MOTIA_STEP_FILES": files})
    assert (loaded["steps"], loaded["complete"]) == (["Watch"], False)
    assert "ApiRouteConfig" not in loaded["step_models"] and "CronConfig" not in loaded["step_models"]
    assert "functions.shop.ship_helper" not in loaded["modules"]
    # A stale list (a file that is gone): every step, as before the variable existed.
    stale = cold_start(root, "triggers", {"MOTIA_STEP_FILES": "functions/shop/gone_step.py"})
    assert (stale["steps"], stale["complete"]) == (["Buy", "Report", "Ship", "Watch"], True)


HOOK_STREAMS = {
    # A leave hook writing another stream, as the shelter's petCreation does to petWatchers.
    "streams/room_stream.py": """
        from motia_runtime import StreamConfig
        async def gone(subscription, auth_context, ctx):
            await ctx.streams.viewers.update("rooms", subscription["groupId"], [{"type": "increment", "path": "n"}])
        config = StreamConfig(name="room", schema={"type": "object"}, public=True, on_leave=gone)
    """,
    "streams/viewers_stream.py": """
        config = {"name": "viewers", "schema": {"type": "object"}, "public": True}
    """,
}
LEAVE_PROBE = """
import json, sys
from moto import mock_aws
mock_aws().start()  # the hook's write goes to a moto table, never to AWS
import boto3
boto3.client("dynamodb", region_name="us-east-1").create_table(
    TableName="streams", BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
from motia_runtime.hosts.aws import triggers, bootstrap
from motia_runtime.adapters.aws import keys as k
runtime = bootstrap.runtime()
started = sorted(m for m in sys.modules if m.startswith("streams."))
record = {"eventName": "REMOVE", "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/connections/stream/x",
          "dynamodb": {"OldImage": {k.PK: {"S": "conn#c1"}, k.SK: {"S": k.SUBSCRIPTION_SK_PREFIX + "s1"},
                                    k.STREAM: {"S": "room"}, k.GROUP_ID: {"S": "lobby"},
                                    k.SUBSCRIPTION_ID: {"S": "s1"}}}}
result = triggers.handler({"Records": [record]}, None)
print(json.dumps({"started": started, "result": result,
                  "viewers": bootstrap.run(runtime.stream("viewers").get("rooms", "lobby")),
                  "after": sorted(m for m in sys.modules if m.startswith("streams."))}))
"""


def test_the_triggers_function_imports_a_stream_when_a_hook_first_uses_it(make_project: ProjectFactory) -> None:
    root = make_project("hooked", {**STEPS, **HOOK_STREAMS, "functions/shop/watch_step.py": WATCH_STEP})
    code = textwrap.dedent("""
        import json, sys
        from motia_runtime.project import load_project
        from motia_runtime.tools.template import build_template
        function = build_template(load_project(sys.argv[1]))["Resources"]["TriggersFunction"]
        print(json.dumps(function["Properties"]["Environment"]["Variables"]))
    """)
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True)
    variables = json.loads(out.stdout)
    assert json.loads(variables["MOTIA_STREAM_FILES"]) == {
        "cart": "streams/cart_stream.py", "room": "streams/room_stream.py", "viewers": "streams/viewers_stream.py"}
    # The trigger step names the cart stream, which is not imported: routing needs its name only.
    env = {"MOTIA_STEP_FILES": variables["MOTIA_STEP_FILES"], "MOTIA_STREAM_FILES": variables["MOTIA_STREAM_FILES"]}
    loaded = cold_start(root, "triggers", env)
    assert (loaded["steps"], loaded["streams"]) == (["Watch"], [])
    assert not [m for m in loaded["modules"] if m.startswith("streams.") and m != "streams.auth"]
    # A leave record: its stream, then the one its hook writes, are imported as they are used.
    left = leave(root, env)
    assert left["result"] == {"batchItemFailures": []}
    assert left["viewers"]["n"] == 1
    assert left["after"] == ["streams.auth", "streams.room_stream", "streams.viewers_stream"]


@pytest.mark.parametrize("stale", [
    '{"cart": "streams/gone_stream.py"}',  # a file that is gone: every stream at start
    '{"cart": "../elsewhere/cart_stream.py"}',  # outside streams/
    "not json",
], ids=["missing file", "outside streams", "not json"])
def test_a_stale_stream_list_loads_every_stream_at_start(make_project: ProjectFactory, stale: str) -> None:
    root = make_project("stale_streams", {**STEPS, **HOOK_STREAMS, "functions/shop/watch_step.py": WATCH_STEP})
    loaded = cold_start(root, "triggers", {"MOTIA_STEP_FILES": "functions/shop/watch_step.py",
                                           "MOTIA_STREAM_FILES": stale})
    assert loaded["streams"] == ["cart", "room", "viewers"]


def test_a_renamed_stream_is_found_by_importing_every_stream(make_project: ProjectFactory) -> None:
    # The list says room_stream.py holds "viewers" (the files were swapped since the template).
    root = make_project("renamed", {**STEPS, **HOOK_STREAMS})
    swapped = json.dumps({"viewers": "streams/room_stream.py", "room": "streams/viewers_stream.py",
                          "cart": "streams/cart_stream.py"})
    left = leave(root, {"MOTIA_STREAM_FILES": swapped})
    assert (left["result"], left["viewers"]["n"]) == ({"batchItemFailures": []}, 1)


def leave(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """Hand the triggers function one leave record (a subscription row removed, on moto) and report
    which stream modules it imported before and after, and the count its hook wrote."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "AWS_LAMBDA_"))}
    base.update({"MOTIA_PROJECT_ROOT": str(root), "AWS_LAMBDA_FUNCTION_NAME": "probe", "MOTIA_STATE_TABLE": "state",
                 "MOTIA_STREAMS_TABLE": "streams", "MOTIA_CONNECTIONS_TABLE": "connections",
                 "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_DEFAULT_REGION": "us-east-1", **env})
    out = subprocess.run([sys.executable, "-c", LEAVE_PROBE], env=base, cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

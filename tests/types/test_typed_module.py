"""``motia types``: mypy reports a wrong stream, field or topic in a step, and the examples pass --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dev_server import REPO
from tests.support.mypy_run import run_mypy

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

WRONG_STEP = '''
from __future__ import annotations

from typing import TYPE_CHECKING

from motia_runtime import ApiRouteConfig

if TYPE_CHECKING:
    from motia_types import WrongContext, WrongRequest, WrongResponse

config = ApiRouteConfig(name="Wrong", path="/wrong/:id", method="POST", emits=["hello.requested"], flows=["hello"])


async def handler(req: WrongRequest, ctx: WrongContext) -> WrongResponse:
    await ctx.streams.greeting.set(ctx.trace_id, "a", {"message": "x"})              # no such stream
    await ctx.streams.greetings.set(ctx.trace_id, "a", {"mesage": "x"})              # no such field
    await ctx.streams.greetings.set(ctx.trace_id, "a", {"message": 1})               # wrong type
    await ctx.emit({"topic": "hello.requestd", "data": {"name": "x"}})               # undeclared topic
    await ctx.emit({"topic": "hello.requested", "data": {"nam": "x"}})               # the input's field
    item = await ctx.streams.greetings.get(req["pathParams"]["key"], "a")            # no such param
    return {"status": 200, "body": item}
'''


def _mypy(root: Path, cache: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return run_mypy(root, cache, "--strict", "--explicit-package-bases", *files)


@pytest.mark.timeout(600)
def test_mypy_reports_each_mistake_of_a_step_against_the_typed_module(tmp_path: Path, mypy_cache: Path) -> None:
    demo = tmp_path / "demo"
    created = subprocess.run([str(BIN / "motia"), "create", str(demo), "--runtime-spec", "motia-runtime"],
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    (demo / "functions/hello/wrong_step.py").write_text(WRONG_STEP.lstrip())
    typed = subprocess.run([str(BIN / "motia"), "types", "--root", str(demo)], capture_output=True, text=True)
    assert typed.returncode == 0, typed.stderr
    result = _mypy(demo, mypy_cache, "functions/hello/wrong_step.py")
    errors: dict[int, str] = {}
    for line in result.stdout.splitlines():
        if ": error:" in line:
            number = int(line.split(":")[1])
            errors[number] = errors.get(number, "") + line
    lines = WRONG_STEP.lstrip().splitlines()
    mistakes = {n: lines[n - 1].split("# ")[-1] for n in range(1, len(lines) + 1) if "  # " in lines[n - 1]}
    assert set(errors) == set(mistakes), result.stdout  # each mistake, and nothing else
    said = {mistakes[n]: errors[n] for n in errors}
    assert '"Streams" has no attribute "greeting"' in said["no such stream"]
    assert 'Extra key "mesage" for TypedDict "GreetingIn"' in said["no such field"]
    assert '(expression has type "int", TypedDict item "message" has type "str")' in said["wrong type"]
    assert "\"Literal['hello.requestd']\", TypedDict item \"topic\"" in said["undeclared topic"]
    assert 'Extra key "nam" for TypedDict "HelloRequested"' in said["the input's field"]
    assert 'TypedDict "WrongPathParams" has no key "key"' in said["no such param"]


def test_the_committed_typed_module_is_current() -> None:
    result = subprocess.run([str(BIN / "motia"), "types", "--check"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.timeout(600)
def test_the_example_apps_pass_mypy_strict(mypy_cache: Path) -> None:
    result = _mypy(REPO, mypy_cache, "functions", "streams", "motia_types.py")
    assert result.returncode == 0, result.stdout[-5000:]


PEOPLE_STREAM = '''
from motia_runtime import StreamConfig

config = StreamConfig(name="people", public=True, schema={
    "type": "object",
    "properties": {
        "first-name": {"type": "string"},
        "role": {"enum": ["admin", "user"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "age": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["first-name", "role"],
})
'''

PEOPLE_STEP = '''
from __future__ import annotations

from typing import TYPE_CHECKING

from motia_runtime import CronConfig

if TYPE_CHECKING:
    from motia_types import PeopleJobContext

config = CronConfig(name="people-job", cron="0 * * * *", flows=["people"])


async def handler(ctx: PeopleJobContext) -> None:
    await ctx.streams.people.set("g", "a", {"first-name": "Ada", "role": "admin", "tags": ["x"], "age": None})
    await ctx.streams.people.set("g", "b", {"first-name": "Bob", "role": "boss"})  # an enum value
    await ctx.streams.people.set("g", "c", {"first-name": "Cy", "role": "user", "address": {}})  # a nested field
    await ctx.streams.people.set("g", "d", {"first-name": "Di", "role": "user", "age": "9"})  # a union
    item = await ctx.streams.people.get("g", "a")
    if item is not None:
        reveal_type(item["__motia"]["groupId"])
        await ctx.emit({"topic": "x", "data": {}})  # a step that declares no emits
'''


def test_a_json_schema_stream_is_typed_too(tmp_path: Path, mypy_cache: Path) -> None:
    """Dict schemas: keys that are not identifiers, enums, nested objects, unions, arrays."""
    (tmp_path / "streams").mkdir()
    (tmp_path / "functions").mkdir()
    (tmp_path / "streams/people_stream.py").write_text(PEOPLE_STREAM.lstrip())
    (tmp_path / "functions/people_job_step.py").write_text(PEOPLE_STEP.lstrip())
    typed = subprocess.run([str(BIN / "motia"), "types", "--root", str(tmp_path)], capture_output=True, text=True)
    assert typed.returncode == 0, typed.stderr
    result = _mypy(tmp_path, mypy_cache, "functions/people_job_step.py")
    lines = PEOPLE_STEP.lstrip().splitlines()
    reported = {int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line}
    expected = {n for n in range(1, len(lines) + 1) if "  # " in lines[n - 1]}
    assert reported == expected, result.stdout
    assert "Revealed type is \"str\"" in result.stdout, result.stdout  # item["__motia"] is typed


DOCUMENTED_CALLS_STEP = '''
from __future__ import annotations

from typing import TYPE_CHECKING

from motia_runtime import EventConfig

if TYPE_CHECKING:
    from motia_types import AsyncCallsContext

config = EventConfig(name="AsyncCalls", subscribes=["hello.requested"], flows=["hello"])


async def handler(input: object, ctx: AsyncCallsContext) -> None:
    count = await ctx.state.update("visits", "total", [{"type": "increment", "path": "n", "by": 1}])
    page = await ctx.state.page("visits", limit=10, after=None, descending=True)
    kind: str = ctx.trigger["type"]
    ctx.logger.info("counted", {"count": count, "keys": [key for key, _ in page.items], "kind": kind})
    visits: list[object] = await ctx.state.list("visits")
    greetings = await ctx.streams.greetings.list(ctx.trace_id)
    ctx.logger.info("listed", {"visits": len(visits), "first": greetings[0]["message"] if greetings else None})
    await ctx.state.update("visits", "total", [{"type": "grow", "path": "n"}])  # not an operation
    await ctx.streams.greetings.list(7)  # a group id is a string
'''

SYNC_STEP = '''
from __future__ import annotations

from typing import TYPE_CHECKING

from motia_runtime import EventConfig

if TYPE_CHECKING:
    from motia_types import PlainCallsContext, PlainCallsHandler, PlainCallsInput

config = EventConfig(name="PlainCalls", subscribes=["hello.requested"], flows=["hello"])


def handler(input: PlainCallsInput, ctx: PlainCallsContext) -> None:
    ctx.state.set("visits", "last", input)
    ctx.state.update("visits", "total", [{"type": "increment", "path": "n"}])
    item = ctx.streams.greetings.set(ctx.trace_id, "greeting", {"message": "hi", "done": True})
    ctx.logger.info("set", {"id": item["id"], "by": ctx.trigger["type"]})
    listed = [g["message"] for g in ctx.streams.greetings.list(ctx.trace_id)] + ctx.state.list("visits")
    ctx.logger.info("listed", {"n": len(listed)})
    ctx.streams.greetings.set(ctx.trace_id, "greeting", {"mesage": "hi"})  # no such field
    ctx.emit({"topic": "hello.requested", "data": {}})  # the step emits nothing


_typed: PlainCallsHandler = handler
'''


@pytest.mark.timeout(600)
def test_the_documented_ctx_calls_and_plain_def_handlers_type_check(tmp_path: Path, mypy_cache: Path) -> None:
    """README: ``ctx.state.update``, ``page`` and ``ctx.trigger`` on every ctx, and a plain ``def``
    handler whose ctx calls block (no ``await``): its typed context must say so."""
    demo = tmp_path / "demo"
    created = subprocess.run([str(BIN / "motia"), "create", str(demo), "--runtime-spec", "motia-runtime"],
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    steps = {"functions/hello/async_calls_step.py": DOCUMENTED_CALLS_STEP,
             "functions/hello/plain_calls_step.py": SYNC_STEP}
    for path, text in steps.items():
        (demo / path).write_text(text.lstrip())
    typed = subprocess.run([str(BIN / "motia"), "types", "--root", str(demo)], capture_output=True, text=True)
    assert typed.returncode == 0, typed.stderr
    result = _mypy(demo, mypy_cache, *steps)
    for path, text in steps.items():
        lines = text.lstrip().splitlines()
        reported = {int(line.split(":")[1]) for line in result.stdout.splitlines()
                    if line.startswith(path) and ": error:" in line}
        expected = {n for n in range(1, len(lines) + 1) if "  # " in lines[n - 1]}
        assert reported == expected, result.stdout  # each mistake, and nothing else


MODELS = '''
from pydantic import BaseModel


class CreatePetRequest(BaseModel):
    name: str


class CreatePetResponse(BaseModel):
    id: str
'''

CREATE_PET_STEP = '''
from __future__ import annotations

from typing import TYPE_CHECKING

from functions.pets import models

from motia_runtime import ApiRouteConfig

if TYPE_CHECKING:
    from motia_types import CreatePetContext, CreatePetRequest, CreatePetResponse

config = ApiRouteConfig(name="CreatePet", path="/pets", method="POST", body_schema=models.CreatePetRequest,
                        response_schema={201: models.CreatePetResponse}, flows=["pets"])


async def handler(req: CreatePetRequest, ctx: CreatePetContext) -> CreatePetResponse:
    return {"status": 201, "body": {"id": req["body"]["name"]}}
'''


@pytest.mark.timeout(600)
def test_models_named_like_the_step_types_leave_the_step_types_their_names(tmp_path: Path, mypy_cache: Path) -> None:
    """A body model called ``CreatePetRequest`` took that name in motia_types.py: the request type
    became ``CreatePetRequest2`` and the ``CreatePetResponse`` alias redefined the model's TypedDict."""
    (tmp_path / "functions/pets").mkdir(parents=True)
    (tmp_path / "functions/pets/models.py").write_text(MODELS.lstrip())
    (tmp_path / "functions/pets/create_pet_step.py").write_text(CREATE_PET_STEP.lstrip())
    typed = subprocess.run([str(BIN / "motia"), "types", "--root", str(tmp_path)], capture_output=True, text=True)
    assert typed.returncode == 0, typed.stderr
    result = _mypy(tmp_path, mypy_cache, "functions/pets/create_pet_step.py", "motia_types.py")
    assert result.returncode == 0, result.stdout


def test_two_steps_whose_names_give_the_same_types_are_named_by_motia_types(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    for file, name in (("a_step.py", "create-pet"), ("b_step.py", "create_pet")):
        (tmp_path / "functions" / file).write_text(
            f"config = {{'type': 'api', 'name': {name!r}, 'path': '/{file[0]}', 'method': 'GET'}}\n"
            "async def handler(req, ctx):\n    return {'status': 200, 'body': {}}\n")
    typed = subprocess.run([str(BIN / "motia"), "types", "--root", str(tmp_path)], capture_output=True, text=True)
    assert typed.returncode == 2
    assert typed.stderr == ("motia: functions/b_step.py: name: step 'create_pet' and step 'create-pet' "
                            "(functions/a_step.py) both give motia_types.py the name CreatePetContext: rename one\n")
    assert not (tmp_path / "motia_types.py").exists()

"""Discovery and load-time validation: every error names the file and the field."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from motia_runtime import ApiRouteConfig, ConfigError, EventConfig
from motia_runtime.config import parse_step_config
from motia_runtime.project import load_project

ProjectFactory = Callable[[dict[str, str]], Path]


def _app_modules() -> list[str]:
    return [m for m in sys.modules if m.split(".")[0] in ("functions", "streams")]


@pytest.fixture
def project(tmp_path: Path) -> ProjectFactory:
    # Each project gets its own package names so imports from one test never leak into another.
    def make(files: dict[str, str]) -> Path:
        root = tmp_path / f"p{uuid.uuid4().hex[:8]}"
        for name, body in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(body))
        return root

    # The repository's own app modules, imported by other test modules at collection, are put
    # back as they were: a test module holding one (tests/pets) must keep seeing the steps use it.
    saved = {name: sys.modules[name] for name in _app_modules()}
    yield make
    for name in _app_modules():
        del sys.modules[name]
    sys.modules.update(saved)


API = """
config = {"type": "api", "name": "%s", "path": "%s", "method": "%s", "emits": %s}
async def handler(req, ctx):
    return {"status": 200, "body": {}}
"""
EVENT = """
config = {"type": "event", "name": "%s", "subscribes": %s}
async def handler(input, ctx):
    pass
"""


def test_motia_style_dicts_and_typed_models_validate_alike() -> None:
    raw = {"type": "api", "name": "A", "path": "/pets/:id", "method": "get", "bodySchema": {"type": "object"},
           "responseSchema": {"200": {"type": "object"}}, "emits": ["x", {"topic": "y", "label": "Y"}],
           "infrastructure": {"handler": {"ram": 512, "timeout": 10}}}
    config = parse_step_config(raw, "a_step.py")
    assert isinstance(config, ApiRouteConfig)
    assert (config.method, config.path_params, sorted(config.emit_topics)) == ("GET", ["id"], ["x", "y"])
    assert config.infrastructure.handler.ram == 512 and 200 in config.response_schema
    typed = EventConfig(name="E", subscribes=["x"], infrastructure={"queue": {"maxRetries": 5}})
    assert typed.infrastructure.queue.max_retries == 5


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"type": "cron", "name": "C", "cron": "every day"}, "cron", "5 fields"),
        ({"type": "cron", "name": "C", "cron": "61 * * * *"}, "cron", "not a valid cron"),
        ({"type": "api", "name": "A", "path": "pets", "method": "GET"}, "path", "must start with /"),
        ({"type": "api", "name": "A", "path": "/p", "method": "FETCH"}, "method", "GET"),
        ({"type": "event", "name": "E", "subscribes": []}, "subscribes", "at least 1"),
        ({"type": "event", "name": "E", "subscribes": ["a"], "subscribe": ["b"]}, "subscribe", "Extra inputs"),
        ({"type": "event", "name": "E", "subscribes": ["a"], "infrastructure": {"queue": {"maxRetries": -1}}},
         "infrastructure.queue.maxRetries", "greater than or equal to 0"),
        ({"type": "rpc", "name": "R"}, "type", "one of"),
        ({"type": "api", "name": "A", "path": "/p", "method": "GET", "bodySchema": {"type": "nope"}},
         "bodySchema", "not a valid schema"),
    ],
)
def test_bad_configs_name_the_file_and_field(raw: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_step_config(raw, "functions/x_step.py")
    assert info.value.file == "functions/x_step.py"
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(f"functions/x_step.py: {field}: ")


@pytest.mark.parametrize("raw", [
    {"type": "cron", "name": "C"},  # a missing field named like a step type
    {"type": "cron", "name": "C", "cron": ["* * * * *"], "bogus": 1, "description": 3},
    {"type": "noop", "name": "N", "cron": "x", "emits": ["a"]},
    {"type": "api", "path": "/p", "method": "GET", "infrastructure": {"handler": {"ram": 1}, "queue": "x"}},
    {"type": "event", "name": "bad name", "subscribes": "a", "emits": [{"label": "no topic"}]},
    {"type": "API", "name": "A"}, {"name": "A"}, {"type": ["api"], "name": "A"},
])
def test_a_step_type_is_validated_by_its_model_as_the_union_validates_it(raw: dict) -> None:
    """parse_step_config validates a known type with that model alone (the other models are not
    built): the errors are the discriminated union's, field for field."""
    import pydantic

    from motia_runtime.config import StepConfig, _raise_config_error

    with pytest.raises(ConfigError) as union:
        try:
            pydantic.TypeAdapter(StepConfig).validate_python(raw)
        except pydantic.ValidationError as exc:
            _raise_config_error(exc, "f_step.py")
    with pytest.raises(ConfigError) as ours:
        parse_step_config(raw, "f_step.py")
    assert (str(ours.value), ours.value.field) == (str(union.value), union.value.field)


def test_a_lambda_loads_the_steps_it_is_given_and_every_stream(project: ProjectFactory) -> None:
    root = project({
        "functions/shop/buy_step.py": API % ("Buy", "/buy", "POST", '["bought"]'),
        "functions/shop/ship_step.py": "raise RuntimeError('not imported')",
        "streams/cart_stream.py": "config = {'name': 'cart', 'schema': {'type': 'object'}}",
    })
    loaded = load_project(root, step_files=["functions/shop/buy_step.py"])
    assert (sorted(loaded.steps), list(loaded.streams), loaded.complete) == (["Buy"], ["cart"], False)
    assert loaded.warnings == []  # whole-project warnings need every step
    assert load_project(root, step_files=[]).steps == {}
    with pytest.raises(ConfigError, match=r"ship_step\.py: cannot import"):
        load_project(root)
    with pytest.raises(ConfigError, match="not a file of the project"):
        load_project(root, step_files=["functions/shop/gone_step.py"])


def test_discovers_steps_and_streams_by_file_name(project: ProjectFactory) -> None:
    root = project({
        "functions/pets/create_step.py": API % ("Create", "/pets", "POST", '["pet.created"]'),
        "functions/pets/notify_step.py": EVENT % ("Notify", '["pet.created"]'),
        "functions/pets/helpers.py": "raise RuntimeError('helpers are not steps and are not imported')",
        "functions/pets/old.step.py": "raise RuntimeError('not *_step.py')",
        "streams/pet_stream.py": "config = {'name': 'pet', 'schema': {'type': 'object'}}",
        "streams/pet.stream.py": "raise RuntimeError('not *_stream.py')",
    })
    loaded = load_project(root)
    assert sorted(loaded.steps) == ["Create", "Notify"]
    assert list(loaded.streams) == ["pet"]
    # Not loaded, and said so, with the name that would load (the files are never imported).
    assert loaded.warnings == [
        "functions/pets/old.step.py: not loaded: step files must be named *_step.py (rename it to old_step.py)",
        "streams/pet.stream.py: not loaded: stream files must be named *_stream.py (rename it to pet_stream.py)",
    ]
    assert [s.name for s in loaded.subscribers("pet.created")] == ["Notify"]


def test_a_topic_nobody_emits_is_a_warning(project: ProjectFactory) -> None:
    root = project({"functions/a_step.py": EVENT % ("Lonely", '["nobody.emits.this"]')})
    [warning] = load_project(root).warnings
    assert warning == "functions/a_step.py: subscribes: topic 'nobody.emits.this' is not emitted by any step"


def test_duplicate_step_names_are_an_error(project: ProjectFactory) -> None:
    root = project({
        "functions/a_step.py": API % ("Same", "/a", "GET", "[]"),
        "functions/b_step.py": API % ("Same", "/b", "GET", "[]"),
    })
    with pytest.raises(ConfigError,
                       match=r"functions/b_step.py: name: step name 'Same' is already used by functions/a_step.py"):
        load_project(root)


def test_duplicate_routes_are_an_error_even_with_other_param_names(project: ProjectFactory) -> None:
    root = project({
        "functions/a_step.py": API % ("A", "/pets/:id", "GET", "[]"),
        "functions/b_step.py": API % ("B", "/pets/:petId", "GET", "[]"),
        "functions/c_step.py": API % ("C", "/pets/:id", "PUT", "[]"),
    })
    with pytest.raises(ConfigError, match=r"functions/b_step.py: path: route GET /pets/:petId "
                                          r"is already served by functions/a_step.py"):
        load_project(root)


def test_a_handler_with_the_wrong_shape_is_named(project: ProjectFactory) -> None:
    root = project({"functions/a_step.py": "config = {'type': 'cron', 'name': 'C', 'cron': '* * * * *'}\n"
                                           "async def handler(input, ctx):\n    pass\n"})
    with pytest.raises(ConfigError,
                       match=r"functions/a_step.py: handler: a cron step's handler must be handler\(ctx\)"):
        load_project(root)


def test_a_missing_handler_and_a_broken_import_are_named(project: ProjectFactory) -> None:
    root = project({"functions/a_step.py": "config = {'type': 'event', 'name': 'E', 'subscribes': ['x']}\n"})
    with pytest.raises(ConfigError, match=r"functions/a_step.py: handler: an event step needs"):
        load_project(root)
    root = project({"functions/b_step.py": "import does_not_exist\n"})
    with pytest.raises(ConfigError, match=r"functions/b_step.py: cannot import: ModuleNotFoundError"):
        load_project(root)


def test_stream_config_errors_name_the_file(project: ProjectFactory) -> None:
    root = project({"streams/bad_stream.py": "config = {'name': 'not a name', 'schema': {'type': 'object'}}"})
    with pytest.raises(ConfigError, match=r"streams/bad_stream.py: name: .*identifier"):
        load_project(root)


def test_files_that_look_like_steps_or_streams_but_will_not_load_are_named(project: ProjectFactory) -> None:
    root = project({
        "functions/a_step.py": API % ("A", "/a", "GET", "[]"),
        "functions/hello-step.py": API % ("H", "/h", "GET", "[]"),
        "functions/greet.py": API % ("G", "/g", "GET", "[]"),  # a step's shape, a helper's name
        "functions/helpers.py": "config = {'retries': 3}\n",  # config alone: a helper, not a step
        "functions/todo_stream.py": "config = {'name': 'todo', 'schema': {}}\n",
        "streams/counter.py": "config = {'name': 'counter', 'schema': {'type': 'object'}}\n",
        "streams/auth.py": "async def authenticate(req):\n    return None\n",
    })
    assert load_project(root).warnings == [
        "functions/greet.py: not loaded: step files must be named *_step.py (rename it to greet_step.py)",
        "functions/hello-step.py: not loaded: step files must be named *_step.py (rename it to hello_step.py)",
        "functions/todo_stream.py: not loaded: a stream file is loaded from streams/ only (move it there)",
        "streams/counter.py: not loaded: stream files must be named *_stream.py (rename it to counter_stream.py)",
    ]


def test_a_project_without_steps_says_so(project: ProjectFactory, tmp_path: Path) -> None:
    from motia_runtime.project import missing_functions

    empty = project({"functions/pets/helpers.py": "X = 1\n"})
    assert load_project(empty).warnings == ["no steps: no *_step.py files under functions/"]
    assert missing_functions(empty) is None
    nowhere = tmp_path / "not-a-project"
    nowhere.mkdir()
    assert load_project(nowhere).warnings[0].startswith(f"no steps: no functions/ folder in {nowhere}")
    assert "pass --root" in (missing_functions(nowhere) or "")


@pytest.mark.parametrize(("files", "field", "line"), [
    # a syntax error: its line; an error raised while importing: the step's failing line
    ({"functions/a_step.py": "config = {\n  'type': 'api',\n  'name' 'A',\n}\n"}, None, 3),
    ({"functions/a_step.py": "import os\n\nraise RuntimeError('boom')\n"}, None, 3),
    # a config field: the line of its key; the handler: its def; a duplicate name: its key
    ({"functions/a_step.py": "config = {\n  'type': 'api',\n  'name': 'A',\n  'path': '/a',\n"
                             "  'method': 'FETCH',\n}\nasync def handler(req, ctx):\n    pass\n"}, "method", 5),
    ({"functions/a_step.py": "config = {'type': 'cron', 'name': 'C', 'cron': '* * * * *'}\n\n"
                             "def handler(a, b, c):\n    pass\n"}, "handler", 3),
    ({"functions/a_step.py": API % ("Same", "/a", "GET", "[]"),
      "functions/b_step.py": "\n" + API % ("Same", "/b", "GET", "[]")}, "name", 3),
])
def test_a_config_error_points_at_its_line(project: ProjectFactory, files: dict[str, str], field: str | None,
                                           line: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_project(project(files))
    assert (info.value.field, info.value.line) == (field, line), str(info.value)
    assert info.value.located().startswith(f"{info.value.file}:{line}: ")

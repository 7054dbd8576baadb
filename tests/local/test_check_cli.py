"""``motia check`` as a user runs it: in the wrong folder, and with files that will not load."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motia_runtime", "check", "--root", str(root)],
                          capture_output=True, text=True, timeout=60)


def test_check_in_a_folder_without_functions_fails_with_one_line(tmp_path: Path) -> None:
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no functions/ folder" in result.stderr, result.stderr


def test_check_warns_about_a_step_that_will_not_load(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello.step.py").write_text(
        "config = {'type': 'api', 'name': 'Hello', 'path': '/hello', 'method': 'GET'}\n"
        "async def handler(req, ctx):\n    return {'status': 200, 'body': {}}\n")
    result = _check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("warning: functions/hello.step.py: not loaded: step files must be named *_step.py "
            "(rename it to hello_step.py)") in result.stderr
    assert "warning: no steps: no *_step.py files under functions/" in result.stderr


def test_check_names_the_file_line_and_field_of_a_broken_step(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello_step.py").write_text(
        "config = {\n    'type': 'api', 'name': 'Hello', 'path': '/hello',\n    'method': 'FETCH',\n}\n"
        "async def handler(req, ctx):\n    return {'status': 200, 'body': {}}\n")
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("motia: functions/hello_step.py:3: method: "), result.stderr


def test_check_names_the_field_of_a_typed_config_as_it_does_a_dicts(tmp_path: Path) -> None:
    """A typed ``EventConfig(...)`` is validated while its file is imported: its mistake is named
    by file, line and field too, not as pydantic's multi-line text under "cannot import"."""
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello_step.py").write_text(
        "from motia_runtime import EventConfig\n\n"
        "config = EventConfig(\n    subscribes=['hello'],\n    flows='hello',\n)\n\n"
        "async def handler(input, ctx):\n    pass\n")
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("motia: functions/hello_step.py:3: name: Field required; "
                             "flows: Input should be a valid list\n"), result.stderr


def test_check_keeps_a_user_models_own_error_as_an_import_error(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello_step.py").write_text(
        "from pydantic import BaseModel\n\n\nclass Hello(BaseModel):\n    name: str\n\n\n"
        "DEFAULT = Hello(name=3)\n"
        "config = {'type': 'event', 'name': 'Hello', 'subscribes': ['hello']}\n\n"
        "async def handler(input, ctx):\n    pass\n")
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("motia: functions/hello_step.py:8: cannot import: ValidationError: "
                                    "1 validation error for Hello"), result.stderr


def test_check_refuses_a_stream_whose_schema_cannot_give_objects(tmp_path: Path) -> None:
    """A stream item is an object (it gets id and __motia): ``schema=str`` used to load, and then
    every ``set`` of the stream failed at run time."""
    (tmp_path / "functions").mkdir()
    (tmp_path / "streams").mkdir()
    (tmp_path / "streams" / "words_stream.py").write_text(
        "from motia_runtime import StreamConfig\n\nconfig = StreamConfig(name='words', schema=str)\n")
    (tmp_path / "streams" / "rows_stream.py").write_text(
        "config = {'name': 'rows', 'schema': {'type': 'array', 'items': {'type': 'object'}}}\n")
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("motia: streams/rows_stream.py:1: schema: "), result.stderr
    assert "(this one is of type 'array')" in result.stderr
    (tmp_path / "streams" / "rows_stream.py").unlink()
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("motia: streams/words_stream.py:3: schema: "), result.stderr
    assert "give a pydantic model or a JSON Schema of type 'object' (this one is of type 'string')" in result.stderr
    (tmp_path / "streams" / "words_stream.py").write_text(
        "from motia_runtime import StreamConfig\n\nconfig = StreamConfig(name='words', schema=dict[str, int])\n")
    assert _check(tmp_path).returncode == 0  # any object will do


def test_the_project_commands_run_from_a_steps_folder_name_the_project_and_write_nothing(tmp_path: Path) -> None:
    """``motia types`` there wrote a motia_types.py of no steps into functions/hello/, ``motia
    generate`` a template.yaml of no functions, and ``motia dev`` served an empty app."""
    hello = tmp_path / "functions" / "hello"
    hello.mkdir(parents=True)
    (hello / "hello_step.py").write_text(
        "config = {'type': 'api', 'name': 'Hello', 'path': '/hello', 'method': 'GET'}\n"
        "async def handler(req, ctx):\n    return {'status': 200, 'body': {}}\n")
    for command in (["types"], ["generate"], ["openapi"], ["check"], ["dev", "--port", "0", "--no-reload"]):
        result = subprocess.run([sys.executable, "-m", "motia_runtime", *command], cwd=hello, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stdout == ""
        assert result.stderr == (f"motia: no functions/ folder in {hello}: the project is {tmp_path}? "
                                 f"Run it there, or pass --root {tmp_path}\n"), (command, result.stderr)
    assert sorted(p.name for p in hello.iterdir()) == ["hello_step.py"]


@pytest.mark.parametrize("command", [["check"], ["dev", "--port", "0", "--no-reload"]])
def test_ctrl_c_while_the_project_loads_exits_without_a_traceback(tmp_path: Path, command: list[str]) -> None:
    """Ctrl-C during start-up (imports, a slow step file) printed a KeyboardInterrupt traceback."""
    (tmp_path / "functions").mkdir()
    loading = tmp_path / "loading"
    (tmp_path / "functions" / "slow_step.py").write_text(
        "import pathlib, time\n"
        f"pathlib.Path({str(loading)!r}).touch()\n"
        "time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-m", "motia_runtime", *command, "--root", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not loading.exists():
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and out == "", err


def _project(root: Path) -> Path:
    (root / "functions").mkdir()
    (root / "functions" / "hello_step.py").write_text(
        "config = {'type': 'api', 'name': 'Hello', 'path': '/hello', 'method': 'GET'}\n"
        "async def handler(req, ctx):\n    return {'status': 200, 'body': {}}\n")
    return root


@pytest.mark.parametrize("command", [["dev", "--no-reload", "--port"], ["cloud", "--port"], ["cloud", "--ws-port"]])
def test_a_port_out_of_range_is_refused_in_one_line(tmp_path: Path, command: list[str]) -> None:
    """motia dev --port 99999 printed its banner and then waited, serving nothing."""
    result = subprocess.run([sys.executable, "-m", "motia_runtime", *command, "99999", "--root",
                             str(_project(tmp_path))], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith(f"error: argument {command[-1]}: a port is 0 to 65535, not 99999")


@pytest.mark.parametrize("command", [["generate", "--output"], ["openapi", "--output"], ["dev", "--no-reload",
                                                                                         "--data-dir"]])
def test_a_path_the_command_cannot_write_is_one_line_not_a_traceback(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no-such-folder" / "out"
    (tmp_path / "no-such-folder").write_text("a file, not a folder")
    (tmp_path / "app").mkdir()
    result = subprocess.run([sys.executable, "-m", "motia_runtime", *command, str(missing), "--root",
                             str(_project(tmp_path / "app"))], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"motia {command[0]}: [Errno 20] Not a directory: '{missing}'\n"


def test_the_root_a_command_suggests_is_quoted_for_a_shell(tmp_path: Path) -> None:
    (tmp_path / "my app").mkdir()
    project = _project(tmp_path / "my app")
    result = subprocess.run([sys.executable, "-m", "motia_runtime", "check"], cwd=project / "functions",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.endswith(f"pass --root '{project}'\n"), result.stderr

"""``motia create``: a project of one's own, whose own tests and mypy --strict pass."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.mypy_run import run_mypy
from tests.support.project_pytest import PROJECT_PYTEST

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _create(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "motia"), "create", str(target), *args], capture_output=True, text=True,
                          timeout=120)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_"))}


@pytest.mark.timeout(600)  # two subprocesses that import the whole framework, on a loaded machine
@pytest.mark.parametrize("template", ["minimal", "pets"])
def test_a_created_project_passes_its_own_tests_and_mypy_strict(tmp_path: Path, template: str,
                                                              mypy_cache: Path) -> None:
    demo = tmp_path / "demo"
    result = _create(demo, "--template", template, "--runtime-spec", "motia-runtime==0.1.0")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in demo.iterdir()} >= {"pyproject.toml", "functions", "streams", "tests", "Makefile",
                                                 "samconfig.toml", ".gitignore", "README.md", "motia_types.py",
                                                 "requirements.txt"}
    project = tomllib.loads((demo / "pyproject.toml").read_text())["project"]
    assert project["name"] == "demo" and project["dependencies"][0].startswith("motia-runtime[local,aws]>=")
    makefile = (demo / "Makefile").read_text()
    assert {"dev:", "test:", "build:"} <= {line.split(" ")[0] for line in makefile.splitlines()}
    assert "\t$(BIN)/motia build\n" in makefile
    # Its tests (one on the local host, one on CloudSim) with this interpreter, which has the extras,
    # without this repository's own pytest plugins (tests/support/project_pytest.py).
    tests = subprocess.run([*PROJECT_PYTEST, "-q"], cwd=demo, capture_output=True, text=True, timeout=300, env=_env())
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "2 passed" in tests.stdout
    typed = run_mypy(demo, mypy_cache)  # the project's own settings: strict, on its steps and streams
    assert typed.returncode == 0, typed.stdout[-3000:]


def test_create_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = _create(tmp_path)
    assert result.returncode == 2
    assert "exists and is not empty" in result.stderr and (tmp_path / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_motia_dev_serves_a_created_project_and_brings_its_types_up_to_date(tmp_path: Path) -> None:
    import httpx

    from tests.support.dev_server import DevServer

    demo = tmp_path / "demo"
    assert _create(demo, "--runtime-spec", "motia-runtime").returncode == 0
    stream = demo / "streams/greetings_stream.py"
    stream.write_text(stream.read_text().replace("    done: bool", "    mood: str = \"warm\"\n    done: bool"))
    assert "'mood'" not in (demo / "motia_types.py").read_text()
    server = DevServer(demo, tmp_path / "data").start(timeout_s=60)
    try:
        created = httpx.post(f"{server.url}/hello", json={"name": "Ada"}, timeout=10)
        assert created.status_code == 200 and created.json()["mood"] == "warm"
    finally:
        server.stop()
    assert "'mood': 'str'" in (demo / "motia_types.py").read_text()  # the item type has the new field


def test_motia_check_refreshes_an_existing_typed_module_and_never_creates_one(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    assert _create(demo, "--runtime-spec", "motia-runtime").returncode == 0
    (demo / "motia_types.py").write_text("# stale\n")
    checked = subprocess.run([str(BIN / "motia"), "check", "--root", str(demo)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "class HelloApiRequest(TypedDict):" in (demo / "motia_types.py").read_text()
    (demo / "motia_types.py").unlink()
    assert subprocess.run([str(BIN / "motia"), "check", "--root", str(demo)], capture_output=True).returncode == 0
    assert not (demo / "motia_types.py").exists()


def test_a_folder_with_spaces_and_accents_gets_a_next_line_to_paste_and_an_ascii_name(tmp_path: Path) -> None:
    """The "next:" line printed the folder unquoted (``cd /x/my app/démo`` is two arguments in a
    shell), and "démo" became the project name "d-mo"."""
    demo = tmp_path / "my app" / "démo"
    result = _create(demo, "--runtime-spec", "motia-runtime")
    assert result.returncode == 0, result.stderr
    [next_line] = [line for line in result.stdout.splitlines() if line.startswith("  next: ")]
    assert shlex.split(next_line.removeprefix("  next: ")) == ["cd", str(demo), "&&", "make", "test", "&&", "make",
                                                              "dev"]
    assert tomllib.loads((demo / "pyproject.toml").read_text())["project"]["name"] == "demo"


def test_create_where_no_folder_can_be_made_says_so_in_one_line(tmp_path: Path) -> None:
    """A path through a file (or a folder one may not write) ended in an OSError traceback."""
    (tmp_path / "notes").write_text("mine")
    result = _create(tmp_path / "notes" / "demo")
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert result.stderr == f"motia create: cannot write {tmp_path / 'notes' / 'demo'}: Not a directory\n"
    result = _create(tmp_path / "notes")
    assert (result.returncode, result.stderr) == (2, f"motia create: {tmp_path / 'notes'} exists and is not a folder\n")
    assert (tmp_path / "notes").read_text() == "mine"

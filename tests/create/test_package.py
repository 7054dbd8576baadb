"""The framework as a user installs it: a wheel, its extras, and the commands that need them."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.dev_server import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # builds and venvs, on a shared machine
UV = Path(sys.executable).parent / "uv"  # make install's (Makefile: UV_PIP)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built once per session (PEP 517, build isolation: setuptools,
    the backend pyproject.toml names, in a fresh environment).

    uv's build frontend (uv is in the dev venv: make install) rather than ``pip wheel``: the same
    backend writes the same wheel (the two unpacked wheels compared equal, file for file), for
    1.7 s of CPU instead of 3.9 s (bench/RESULTS.md, issue 18.4, build side).
    """
    out = tmp_path_factory.mktemp("wheel")
    build = _source_copy(tmp_path_factory.mktemp("build-src"))
    subprocess.run([str(UV), "build", "--wheel", "-q", "-o", str(out), str(build)], check=True, capture_output=True,
                   timeout=300)
    [built] = out.glob("motia_runtime-*.whl")
    return built


def _source_copy(build: Path) -> Path:
    """A copy of what the build reads, so its build/ and egg-info never land in the work tree."""
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        source = REPO / rel
        if source.is_file() and (rel in ("pyproject.toml", "README.md", "MANIFEST.in") or rel.startswith("layers/")):
            (build / rel).parent.mkdir(parents=True, exist_ok=True)
            (build / rel).write_bytes(source.read_bytes())
    return build


def test_bytecode_beside_the_templates_is_left_out_of_the_wheel_and_sdist(tmp_path: Path) -> None:
    """The suite imports the templates in a checkout, writing __pycache__/ beside them, and the
    package-data globs took it: make wheel after make test shipped that bytecode."""
    build = _source_copy(tmp_path / "src")
    package = build / "layers/motia_runtime/motia_runtime"
    for folder in ("tools/create/templates/minimal/functions/hello", "hosts/local/workbench/static/js"):
        (package / folder / "__pycache__").mkdir()
        (package / folder / "__pycache__/stale.cpython-311.pyc").write_bytes(b"not for the wheel")
    subprocess.run([str(UV), "build", "-q", "-o", str(tmp_path / "dist"), str(build)], check=True,
                   capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    [sdist] = (tmp_path / "dist").glob("*.tar.gz")
    assert [n for n in zipfile.ZipFile(wheel).namelist() if "pycache" in n or n.endswith(".pyc")] == []
    with tarfile.open(sdist) as archive:
        assert [n for n in archive.getnames() if "pycache" in n or n.endswith(".pyc")] == []


@pytest.fixture(scope="session")
def bare_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and no extras.

    Made without pip of its own (ensurepip, most of the venv's cost) and filled by the dev venv's
    uv through ``--python``: the wheel and its dependencies, resolved from its metadata, as pip
    would install them, with PEP 610's direct_url.json (``url``: the wheel's file) that
    ``motia create`` reads. pip took 4.2 s of CPU for it (3.3 s of it without compiling every
    dependency's bytecode), uv 0.45 s; the commands below compile what they import.
    """
    env_dir = tmp_path_factory.mktemp("bare") / "venv"
    venv.create(env_dir, with_pip=False)
    subprocess.run([str(UV), "pip", "install", "-q", "--python", str(env_dir / "bin/python"), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return env_dir / "bin"


def test_the_wheel_holds_the_workbench_the_templates_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "motia_runtime/py.typed" in names
    assert "motia_runtime/hosts/local/workbench/static/index.html" in names
    assert "motia_runtime/tools/create/templates/common/gitignore" in names
    assert "motia_runtime/tools/create/templates/minimal/functions/hello/hello_api_step.py" in names
    assert "motia_runtime/tools/create/templates/pets/functions/pets/create_pet_step.py" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for extra in ("local", "aws", "redis", "testing", "all"):
        assert f"Provides-Extra: {extra}" in metadata


@pytest.mark.parametrize(("argv", "extra"), [
    (["dev", "--no-reload"], "local"),
    (["generate"], "aws"),
    (["watch", "s", "g"], "client"),
])
def test_a_command_without_its_extra_names_it_in_one_line(bare_venv: Path, tmp_path: Path, argv: list[str],
                                                          extra: str) -> None:
    result = subprocess.run([str(bare_venv / "motia"), *argv], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr == (f"motia {argv[0]} needs the {extra} extra: "
                             f"pip install 'motia-runtime[{extra}]'\n")


def test_cloudsim_without_the_testing_extra_says_which_to_install(bare_venv: Path) -> None:
    result = subprocess.run([str(bare_venv / "python"), "-c", "import motia_runtime.testing"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith("pip install 'motia-runtime[testing]'")


def test_the_core_commands_run_without_extras(bare_venv: Path, tmp_path: Path) -> None:
    """create, types and check need only the core: a project is made and checked in the bare venv."""
    demo = tmp_path / "demo"
    created = subprocess.run([str(bare_venv / "motia"), "create", str(demo), "--runtime-spec", "motia-runtime"],
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    assert "MOTIA_RUNTIME ?= motia-runtime\n" in (demo / "Makefile").read_text()
    checked = subprocess.run([str(bare_venv / "motia"), "check"], cwd=demo, capture_output=True, text=True,
                             timeout=60)
    assert (checked.returncode, checked.stdout) == (0, "3 steps, 1 streams: OK\n"), checked.stderr
    typed = subprocess.run([str(bare_venv / "motia"), "types", "--check"], cwd=demo, capture_output=True,
                           text=True, timeout=60)
    assert typed.returncode == 0, typed.stderr


def test_create_records_the_wheel_it_was_installed_from(bare_venv: Path, wheel: Path, tmp_path: Path) -> None:
    """No --runtime-spec: the project installs motia-runtime from where this one came (PEP 610)."""
    result = subprocess.run([str(bare_venv / "motia"), "create", str(tmp_path / "demo")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"MOTIA_RUNTIME ?= {wheel}\n" in (tmp_path / "demo" / "Makefile").read_text()

"""``motia build`` run as a user runs it, in a project outside this repository.

It installs the layers' packages with pip for Lambda's platform (from PyPI, or pip's cache), so it
is the one template test that reaches a package index; the architecture is this machine's, so the
test can import what the layers hold with nothing but the layers on ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from motia_runtime.errors import ConfigError
from motia_runtime.tools.layers import NO_PYDANTIC_PLUGINS
from motia_runtime.tools.template.names import CODE_URI, DEPS_LAYER, DEPS_LAYER_URI, LAYER, LAYER_URI

from .conftest import ProjectWriter, step, template_of

pytestmark = pytest.mark.slow

ARCH = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
FILES = {
    "pyproject.toml": f'[project]\nname = "demo"\nversion = "0"\n\n[tool.motia]\narchitecture = "{ARCH}"\n',
    # idna: the app's own; pydantic: the runtime's too, so it must be in the runtime layer only.
    "requirements.txt": "# the steps' packages\nidna>=3\npydantic>=2.7\n",
    "functions/hello_step.py": step('{"type": "api", "name": "Hello", "path": "/hello", "method": "GET"}', "api"),
    "functions/work_step.py": step('{"type": "event", "name": "Work", "subscribes": ["w"]}'),
    "streams/things_stream.py": 'config = {"name": "things", "schema": {"type": "object"}}\n',
}
# What a function imports on Lambda, with only its code, the two layers and what Lambda's Python
# runtime ships (boto3 and its dependencies, after the layers) on sys.path (-S: not this
# interpreter's site-packages).
LAMBDA_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
IMPORTS = """
import json, sys
sys.path[:0] = sys.argv[2:]
sys.path.append(sys.argv[1])
import motia_runtime.hosts.aws.api, motia_runtime.hosts.aws.queue, motia_runtime.hosts.aws.schedule
import motia_runtime.hosts.aws.websocket, motia_runtime.hosts.aws.fanout
import idna, pydantic
from motia_runtime.project import load_project
project = load_project(sys.argv[2])
import os
print(json.dumps({"steps": sorted(project.steps), "pydantic": pydantic.__file__, "idna": idna.__file__,
                  "plugins": os.environ.get("PYDANTIC_DISABLE_PLUGINS")}))
"""


def _motia(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motia_runtime.cli.main", *args, "--root", str(root)],
                          capture_output=True, text=True, timeout=600, cwd=root)


def _lambda_runtime(folder: Path) -> Path:
    """A folder holding (links to) the packages Lambda's Python runtime provides."""
    folder.mkdir()
    for name in LAMBDA_RUNTIME:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


def _dists(folder: Path) -> set[str]:
    return {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions(path=[str(folder)])}


def test_build_writes_small_code_and_two_layers_without_duplicates(write_project: ProjectWriter) -> None:
    root = write_project(FILES)
    assert _motia(root, "generate").returncode == 0
    result = _motia(root, "build", "--no-sam")
    assert result.returncode == 0, result.stderr

    template = template_of(root)
    assert template["Globals"]["Function"]["Architectures"] == [ARCH]
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": LAYER}, {"Ref": DEPS_LAYER}]
    assert template["Resources"][LAYER]["Properties"]["ContentUri"] == LAYER_URI
    assert template["Resources"][DEPS_LAYER]["Properties"]["ContentUri"] == DEPS_LAYER_URI
    code, runtime, deps = root / CODE_URI, root / LAYER_URI / "python", root / DEPS_LAYER_URI / "python"

    # The function code is the app's own files (and their bytecode), kilobytes.
    sources = sorted(str(p.relative_to(code)) for p in code.rglob("*.py"))
    assert sources == ["functions/hello_step.py", "functions/work_step.py", "streams/things_stream.py"]
    assert sum(p.stat().st_size for p in code.rglob("*") if p.is_file()) < 50_000
    assert list(code.glob("functions/__pycache__/hello_step.cpython-311.pyc"))

    # One resolution, split: the runtime's packages in its layer, the app's others in the deps layer.
    assert {"pydantic", "aws-lambda-powertools", "croniter", "jsonschema"} <= _dists(runtime)
    assert _dists(deps) == {"idna"}
    assert not _dists(runtime) & _dists(deps)
    # The installed motia_runtime, without what only runs on a developer's machine.
    assert (runtime / "motia_runtime" / "hosts" / "aws" / "api.py").is_file()
    assert not (runtime / "motia_runtime" / "hosts" / "local").exists()
    assert not (runtime / "motia_runtime" / "testing").exists()

    provided = _lambda_runtime(root.parent / "lambda-runtime")
    run = subprocess.run([sys.executable, "-S", "-c", IMPORTS, str(provided), str(code), str(runtime), str(deps)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout)
    assert loaded["steps"] == ["Hello", "Work"]
    assert loaded["pydantic"].startswith(str(runtime)) and loaded["idna"].startswith(str(deps))
    # No package in the layers declares a pydantic plugin, so the functions skip pydantic's search.
    assert (runtime / "motia_runtime" / NO_PYDANTIC_PLUGINS).is_file() and loaded["plugins"] == "__all__"

    # Nothing changed: pip is not run again, and the layers stay as they are.
    stamp = root / ".aws-sam" / "layers" / ".inputs.json"
    before = stamp.stat().st_mtime_ns
    again = _motia(root, "build", "--no-sam")
    assert again.returncode == 0, again.stderr
    assert stamp.stat().st_mtime_ns == before


def test_build_refuses_a_stale_template(write_project: ProjectWriter) -> None:
    root = write_project(FILES)
    result = _motia(root, "build", "--no-sam")
    assert result.returncode == 1
    assert "template.yaml does not exist" in result.stderr
    assert not (root / ".aws-sam").exists()


def test_architecture_defaults_to_arm64_and_is_checked(write_project: ProjectWriter) -> None:
    plain = write_project({"functions/work_step.py": step('{"type": "event", "name": "Work", "subscribes": ["w"]}')})
    template = template_of(plain)
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert template["Resources"][LAYER]["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert DEPS_LAYER not in template["Resources"]  # no requirements.txt, no dependencies layer
    wrong = write_project({**FILES, "pyproject.toml": '[tool.motia]\narchitecture = "amd64"\n'})
    with pytest.raises(ConfigError) as caught:
        template_of(wrong)
    assert (caught.value.file, caught.value.field) == ("pyproject.toml", "tool.motia.architecture")

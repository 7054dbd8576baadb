"""dataclasses' generated methods at a cold start: compiled by ``motia build`` into the runtime
layer (tools/layers.py ``dataclass_code``) and used on Lambda only, each class otherwise as before
(hosts/aws/_dataclass_code.py)."""

from __future__ import annotations

import marshal
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.tools.layers import DATACLASS_CODE, MACHINES, Target, copy_runtime_package, dataclass_code

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
ARCH = next((a for a, m in MACHINES.items() if m == platform.machine()), "x86_64")

# What an event looks like to a function: its repr, equality, hash and frozen fields.
PROBE = """
import dataclasses, json
from motia_runtime.hosts.aws import _dataclass_code, api  # the entry module: its import ends the pause
from motia_runtime.ports.events import Event
a, b = Event("t", {"x": 1}, "trace", id="1"), Event("t", {"x": 1}, "trace", id="1")
try:
    a.topic = "u"
    frozen = "assignable"
except dataclasses.FrozenInstanceError as exc:
    frozen = str(exc)
print(json.dumps({"repr": repr(a), "eq": a == b, "ne": a != Event("u", {}, "trace", id="1"), "frozen": frozen,
                  "codes": len(_dataclass_code._codes or {}), "patched": hasattr(dataclasses, "exec")}))
"""


def _probe(layer: Path, lambda_: bool = True) -> dict[str, Any]:
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_LAMBDA"))}
    env["PYTHONPATH"] = str(layer)
    if lambda_:
        env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001"
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=layer, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("layer") / "python"
    package = copy_runtime_package(folder)
    recorded = dataclass_code(folder, Target(ARCH, python=HERE))
    assert recorded is not None
    (package / DATACLASS_CODE).write_bytes(recorded)
    return folder


def _codes(layer: Path) -> tuple[bytes, dict[str, object]]:
    magic, codes = marshal.loads((layer / "motia_runtime" / DATACLASS_CODE).read_bytes())
    return magic, codes


def test_the_build_records_the_entry_points_dataclasses(layer: Path) -> None:
    _, codes = _codes(layer)
    texts = "".join(codes)
    # Ours (an Event's __init__, the stream changes, the function's settings) and pydantic's own.
    for name in ("def __init__(self,topic:_type_topic", "stream_name", "project_root", "check_fields"):
        assert name in texts, name
    assert all(compile(t, "<string>", "exec", dont_inherit=True).co_code == c.co_code  # type: ignore[attr-defined]
               for t, c in codes.items())


def test_not_recorded_for_another_python_version(tmp_path: Path) -> None:
    assert dataclass_code(tmp_path, Target(ARCH, python="2.7")) is None


def test_a_function_on_lambda_uses_the_recorded_code_and_the_classes_behave_the_same(layer: Path) -> None:
    on, off = _probe(layer), _probe(layer, lambda_=False)
    assert on["codes"] and not off["codes"]  # read on Lambda only
    assert not on["patched"]  # dataclasses is itself again once the cold start is over
    assert {k: v for k, v in on.items() if k != "codes"} == {k: v for k, v in off.items() if k != "codes"}
    assert on["repr"].startswith("Event(topic='t'") and on["eq"] and on["ne"]
    assert on["frozen"] == "cannot assign to field 'topic'"


def test_the_recorded_code_is_what_runs_and_a_file_of_another_version_is_ignored(layer: Path) -> None:
    path = layer / "motia_runtime" / DATACLASS_CODE
    original = path.read_bytes()
    magic, codes = _codes(layer)
    text = next(t for t in codes if "def __repr__" in t and "(topic={self.topic!r}" in t)
    swapped = text.replace('self.__class__.__qualname__ + f"(topic=', '"recorded" + f"(topic=')
    try:
        # A recorded text whose code was swapped: the function runs the file's code, not the text's.
        path.write_bytes(marshal.dumps((magic, {**codes, text: compile(swapped, "<string>", "exec")})))
        assert _probe(layer)["repr"].startswith("recorded(topic='t'")
        assert _probe(layer, lambda_=False)["repr"].startswith("Event(")
        # The same file stamped by another Python version: not used.
        path.write_bytes(marshal.dumps((b"\0\0\r\n", {**codes, text: compile(swapped, "<string>", "exec")})))
        probe = _probe(layer)
        assert probe["repr"].startswith("Event(") and not probe["codes"]
    finally:
        path.write_bytes(original)

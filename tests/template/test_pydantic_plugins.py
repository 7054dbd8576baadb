"""pydantic's plugin search at a cold start: skipped only when ``motia build`` saw that no package
in the layers declares a plugin (tools/layers.py, hosts/aws/__init__.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from motia_runtime.tools.layers import NO_PYDANTIC_PLUGINS, copy_runtime_package, pydantic_plugins


def _dist(folder: Path, name: str, entry_points: str = "") -> None:
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points)


def test_the_plugins_the_layers_declare_are_found(tmp_path: Path) -> None:
    runtime, deps = tmp_path / "runtime", tmp_path / "deps"
    _dist(runtime, "plain")
    _dist(deps, "scripts", "[console_scripts]\nx = x:main\n")
    assert pydantic_plugins([runtime, deps]) == []
    _dist(deps, "observer", "[pydantic]\nobserver = observer.pydantic:plugin\n")
    assert pydantic_plugins([runtime, deps]) == ["observer: observer"]


PROBE = "import os, motia_runtime.hosts.aws; print(repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')))"


def _probe(layer: Path, **env: str) -> str:
    """What a function importing the layer's copy of the package (first on sys.path) sets."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYDANTIC_DISABLE_PLUGINS", "PYTHONPATH")}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**base, **env, "PYTHONPATH": str(layer)},
                         cwd=layer, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_function_skips_the_search_only_with_the_builds_marker(tmp_path: Path) -> None:
    layer = tmp_path / "python"
    package = copy_runtime_package(layer)
    assert _probe(layer) == "None"  # no marker: pydantic searches as usual
    (package / NO_PYDANTIC_PLUGINS).write_text("none\n")
    assert _probe(layer) == "'__all__'"
    # The function's own setting wins (an empty value: search, for a plugin in another layer).
    assert _probe(layer, PYDANTIC_DISABLE_PLUGINS="") == "''"
    shutil.rmtree(layer)

"""The two Lambda layers ``motia build`` writes, for the project's architecture.

* the **runtime layer**: ``motia_runtime`` as *installed* in this interpreter (so any project can
  build, not only this repository) without what only runs locally, plus the package's own
  requirements (its install metadata, no extras);
* the **app-dependencies layer**: the project's ``requirements.txt``, less everything the runtime
  layer already holds.

Both come from *one* ``pip install --platform manylinux2014_<arch> --only-binary=:all:`` into a
staging folder, so the app and the runtime agree on one version of each shared package (two layers
unpack into the same ``/opt/python``: two copies would overwrite each other file by file). The
staging is then split by the runtime requirements' dependency closure, read from the installed
distributions' metadata with markers evaluated for Lambda's interpreter. pip runs again only when
its inputs (architecture, interpreter, requirements) change: ``.inputs.json`` in the layers folder.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .template.settings import app_requirements

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError as exc:  # a deploy-time tool, like PyYAML for `motia generate`
    raise ImportError("motia build needs packaging: pip install 'motia-runtime[aws]'") from exc

DISTRIBUTION = "motia-runtime"
PACKAGE = "motia_runtime"
# Parts of the package that only ever run on a developer's machine (the local host and its
# Workbench, the CLI and build tools, the test harness, the client, local storage).
LOCAL_ONLY = ("hosts/local", "testing", "tools", "cli", "client", "adapters/sqlite", "adapters/redis",
              "__main__.py")
# Lambda's runtime already has boto3 (and so botocore, s3transfer, jmespath, urllib3, dateutil):
# the runtime's metadata does not require it either (it is the `aws` extra).
# ...and puts it after /opt/python on sys.path, so a layer's copy of one of its dependencies wins:
# keep those within the ranges that runtime's botocore accepts (croniter would take dateutil 4).
LAMBDA_RUNTIME_CONSTRAINTS = ("python-dateutil>=2.1,<3",)
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True)
class Target:
    """The Lambda interpreter the layers are for."""

    architecture: str  # "arm64" | "x86_64"
    python: str = "3.11"

    def markers(self) -> dict[str, str]:
        return {"python_version": self.python, "python_full_version": f"{self.python}.0", "os_name": "posix",
                "sys_platform": "linux", "platform_system": "Linux", "platform_machine": MACHINES[self.architecture],
                "implementation_name": "cpython", "platform_python_implementation": "CPython",
                "platform_release": "", "platform_version": "", "implementation_version": f"{self.python}.0"}


def runtime_requirements() -> list[str]:
    """The installed motia-runtime's own requirements (no extras): what the layer must hold."""
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise ConfigError(f"{DISTRIBUTION} is not installed in this interpreter ({sys.executable}): "
                          "pip install motia-runtime") from None
    return sorted(r for r in requires if "extra" not in str(Requirement(r).marker or ""))


def install(staging: Path, requirements: list[str], target: Target) -> Path:
    """One pip resolution of ``requirements`` for Lambda's platform into ``staging/site``."""
    if staging.exists():
        shutil.rmtree(staging)
    site = staging / "site"
    site.mkdir(parents=True)
    if not requirements:
        return site
    constraints = staging / "lambda-runtime-constraints.txt"
    constraints.write_text("".join(f"{c}\n" for c in LAMBDA_RUNTIME_CONSTRAINTS), encoding="utf-8")
    command = [sys.executable, "-m", "pip", "install", "--constraint", str(constraints), "--quiet",
               "--disable-pip-version-check", "--no-compile",
               "--target", str(site), "--platform", PLATFORMS[target.architecture], "--implementation", "cp",
               "--python-version", target.python, "--abi", f"cp{target.python.replace('.', '')}",
               "--only-binary=:all:", *requirements]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ConfigError(f"pip could not install the layers' packages for {PLATFORMS[target.architecture]} "
                          f"(wheels only: Lambda cannot build from source):\n{result.stderr.strip()[-3000:]}")
    return site


def closure(site: Path, roots: Iterable[str], target: Target) -> set[str]:
    """Canonical names of ``roots`` and everything they require, among the distributions in ``site``."""
    dists = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])}
    env = target.markers()
    seen: set[str] = set()
    pending = [(Requirement(r), "") for r in roots]
    while pending:
        req, extra = pending.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        extras = sorted(req.extras)
        key = f"{name}[{','.join(extras)}]"
        if key in seen or name not in dists:
            continue
        seen.add(key)
        for child in dists[name].requires or []:
            for wanted in ("", *extras):
                pending.append((Requirement(child), wanted))
    return {key.split("[")[0] for key in seen}


def split(site: Path, runtime: Path, deps: Path, runtime_names: set[str]) -> None:
    """Move each distribution's files (its RECORD) from ``site`` to ``runtime`` or ``deps``."""
    for dist in metadata.distributions(path=[str(site)]):
        dest = runtime if canonicalize_name(dist.metadata["Name"]) in runtime_names else deps
        for file in dist.files or []:
            source = (site / file).resolve()
            if not source.is_relative_to(site.resolve()) or not source.is_file():
                continue  # console scripts (../../bin), or files pip listed but did not write
            relative = source.relative_to(site.resolve())
            if relative.parts[0] in ("bin", "__pycache__") or relative.suffix == ".pyc":
                continue
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), dest / relative)


def copy_runtime_package(dest: Path) -> Path:
    """The installed motia_runtime (an editable install too), less its local-only parts."""
    import motia_runtime

    source = Path(motia_runtime.__file__).resolve().parent
    target = dest / PACKAGE
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=_IGNORE)
    for part in LOCAL_ONLY:
        path = target / part
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return target


# Written into the runtime layer's package when no distribution of either layer declares a
# pydantic plugin (the ``pydantic`` entry point group): see hosts/aws/__init__.py.
NO_PYDANTIC_PLUGINS = "NO_PYDANTIC_PLUGINS"


def pydantic_plugins(folders: Iterable[Path]) -> list[str]:
    """The pydantic plugins (entry points of the ``pydantic`` group) the distributions in
    ``folders`` declare."""
    dists = metadata.distributions(path=[str(f) for f in folders])
    return sorted(f"{d.metadata['Name']}: {ep.name}" for d in dists for ep in d.entry_points if ep.group == "pydantic")


# The runtime layer's compiled dataclass methods (hosts/aws/_dataclass_code.py reads it by this name).
DATACLASS_CODE = "DATACLASS_CODE"

# What the entry points import and build before their first handler call, and what their first
# calls import: run once by ``motia build`` to record dataclasses' generated code (see
# hosts/aws/_dataclass_code.py). A module missing here only costs its classes' compile.
_RECORD_MODULES = (
    *(f"motia_runtime.hosts.aws.{m}" for m in ("api", "queue", "schedule", "websocket", "fanout", "delivery",
                                               "triggers")),
    *(f"motia_runtime.{m}" for m in ("api_config", "event_config", "cron_config", "noop_config", "trigger_config",
                                     "stream_config", "project", "runtime", "protocol", "stream_hooks")),
    *(f"motia_runtime.adapters.aws.{m}" for m in ("state", "streams", "bus", "subscriptions", "pusher",
                                                  "delivery_queue", "redelivery")),
)
_RECORD = "".join(f"try:\n    import {m}\nexcept ImportError:\n    pass\n" for m in _RECORD_MODULES) + (
    "import pydantic\nclass _M(pydantic.BaseModel):\n    x: int\n_M(x=1)\n")


def dataclass_code(runtime_python: Path, target: Target) -> bytes | None:
    """The runtime layer's ``DATACLASS_CODE`` (hosts/aws/_dataclass_code.py), recorded by this
    interpreter, or None when it is not the target's Python version (its bytecode would not load
    there). The layer's own packages are imported when this machine can load them (same
    architecture); else this environment's, whose texts match the layer's for the same versions."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != target.python:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_LAMBDA"))}
    if MACHINES[target.architecture] == platform.machine():
        env["PYTHONPATH"] = str(runtime_python)
    code = ("import sys\nfrom motia_runtime.hosts.aws._dataclass_code import record\n"
            f"sys.stdout.buffer.write(record({_RECORD!r}))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    return out.stdout if out.returncode == 0 and out.stdout else None


@dataclass(frozen=True)
class Layers:
    runtime: Path  # the folder the template's ContentUri names (its python/ is /opt/python)
    deps: Path | None  # None when requirements.txt lists nothing
    installed: bool  # pip ran (its inputs changed), so the packages are new


def build_layers(root: Path, out: Path, target: Target) -> Layers:
    """Write ``out/runtime/python`` and (when the project has requirements) ``out/deps/python``."""
    runtime_reqs = runtime_requirements()
    app_reqs = app_requirements(root)
    inputs = {"architecture": target.architecture, "python": target.python, "runtime": runtime_reqs,
              "app": app_reqs, "constraints": list(LAMBDA_RUNTIME_CONSTRAINTS), "version": 1}
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    stamp = out / ".inputs.json"
    runtime_dir, deps_dir = out / "runtime", out / "deps"
    current = stamp.is_file() and json.loads(stamp.read_text()).get("digest") == digest
    if not current:
        stamp.unlink(missing_ok=True)
        staging = out / ".staging"
        site = install(staging, [*runtime_reqs, *app_reqs], target)
        for folder in (runtime_dir, deps_dir):
            if folder.exists():
                shutil.rmtree(folder)
            (folder / "python").mkdir(parents=True)
        split(site, runtime_dir / "python", deps_dir / "python", closure(site, runtime_reqs, target))
        shutil.rmtree(staging)
        stamp.write_text(json.dumps({"digest": digest, **inputs}, indent=1) + "\n")
    package = copy_runtime_package(runtime_dir / "python")
    folders = [runtime_dir / "python", *([deps_dir / "python"] if app_reqs else [])]
    if not pydantic_plugins(folders):
        (package / NO_PYDANTIC_PLUGINS).write_text(
            "No distribution in the layers declares a pydantic plugin: the functions skip pydantic's\n"
            "search for them at their cold start (hosts/aws/__init__.py).\n", encoding="utf-8")
    recorded = dataclass_code(runtime_dir / "python", target)
    if recorded is not None:
        (package / DATACLASS_CODE).write_bytes(recorded)
    if app_reqs:  # what the layer was built from; also keeps it non-empty if the runtime had every package
        (deps_dir / "requirements.txt").write_text("".join(f"{r}\n" for r in app_reqs), encoding="utf-8")
    return Layers(runtime_dir, deps_dir if app_reqs else None, installed=not current)

"""``motia build``: everything ``sam deploy`` uploads, from any project folder.

1. ``template.yaml`` is current (``motia generate --check``);
2. the function code: the app's own files only (tools/bundle.py), kilobytes;
3. the runtime layer (the installed motia_runtime and its requirements) and the app-dependencies
   layer (requirements.txt), for ``[tool.motia] architecture`` (tools/layers.py);
4. bytecode for all of it, compiled by Lambda's interpreter version: Lambda's code folders are
   read-only, so without it every cold start compiles each module it imports (unchecked-hash:
   ``sam deploy`` zips files dated 1980, which no timestamp-checked .pyc would match);
5. with the SAM CLI (``--sam``, ``$MOTIA_SAM`` or ``sam`` on PATH): ``sam validate --lint`` and
   ``sam build``, whose copy of the code gets its bytecode compiled too. Without it the template
   is deployable as it is (``sam deploy`` zips the folders it names).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

from ..errors import ConfigError
from .bundle import assemble
from .generate import generate
from .template.functions import RUNTIME_VERSION
from .template.names import LAYERS_DIR
from .template.settings import architecture

ENV_SAM = "MOTIA_SAM"
ENV_LAMBDA_PYTHON = "MOTIA_LAMBDA_PYTHON"
SAM_BUILD_DIR = ".aws-sam/build"
TASK_ROOT = "/var/task"  # where Lambda unpacks a function's code
LAYER_ROOT = "/opt/python"  # and a layer's python/ folder


def lambda_python() -> str | None:
    """An interpreter of Lambda's Python version (bytecode is version-specific)."""
    explicit = os.environ.get(ENV_LAMBDA_PYTHON)
    if explicit:
        return explicit
    if f"{sys.version_info.major}.{sys.version_info.minor}" == RUNTIME_VERSION:
        return sys.executable
    return shutil.which(f"python{RUNTIME_VERSION}")


# compileall with each folder's path on Lambda recorded in its code objects (tracebacks name
# /var/task/..., and identical code compiles to identical bytes: every function's zip is the same,
# which sam deploy then uploads once).
_COMPILE = """
import compileall, sys
pairs = sys.argv[1:]
ok = all(compileall.compile_dir(pairs[i], quiet=1, workers=0, stripdir=pairs[i], prependdir=pairs[i + 1],
                                invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH)
         for i in range(0, len(pairs), 2))
sys.exit(0 if ok else 1)
"""


def compile_bytecode(folders: list[tuple[Path, str]], err: TextIO) -> None:
    """Compile each (folder, its path on Lambda) with Lambda's interpreter version."""
    python = lambda_python()
    if python is None:
        print(f"motia build: warning: no python{RUNTIME_VERSION} found (set {ENV_LAMBDA_PYTHON}); the build has "
              "no bytecode, so each cold start compiles what it imports", file=err)
        return
    arguments = [str(a) for folder, on_lambda in folders if folder.is_dir() for a in (folder, on_lambda)]
    subprocess.run([python, "-c", _COMPILE, *arguments], check=True, stdout=subprocess.DEVNULL)


def find_sam(explicit: str | None) -> str | None:
    candidate = explicit or os.environ.get(ENV_SAM) or "sam"
    return shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(root: Path | str, *, sam: str | None = None, skip_sam: bool = False, out: TextIO = sys.stdout,
          err: TextIO = sys.stderr) -> int:
    """Exit status: 0 built, 1 template stale or a tool failed, 2 the project is invalid."""
    root = Path(root).resolve()
    started = time.perf_counter()
    status = generate(root, check=True, out=out, err=err)
    if status:
        return status
    try:
        from .layers import PACKAGE, Target, build_layers

        arch = architecture(root)
        code = assemble(root)
        layers = build_layers(root, root / LAYERS_DIR, Target(arch, RUNTIME_VERSION))
    except ConfigError as exc:
        print(f"motia: {exc}", file=err)
        return 2
    built = [code, layers.runtime, *([layers.deps] if layers.deps else [])]
    # The layers' packages only when pip has just installed them (thousands of modules); the
    # app's code and the motia_runtime copy each time.
    targets = [(code, TASK_ROOT), (layers.runtime / "python" / PACKAGE, f"{LAYER_ROOT}/{PACKAGE}")]
    if layers.installed:
        targets += [(folder / "python", LAYER_ROOT) for folder in built[1:]]
    compile_bytecode(targets, err)
    sizes = ", ".join(f"{p.relative_to(root)} {folder_bytes(p) / 1e6:.1f} MB" for p in built)
    print(f"motia build ({arch}): {sizes}", file=out)

    sam_cli = None if skip_sam else find_sam(sam)
    if sam_cli is None:
        if not skip_sam:
            print("motia build: no SAM CLI (--sam, $MOTIA_SAM or sam on PATH): skipped sam validate and sam build; "
                  "`sam deploy` can package template.yaml as it is", file=err)
    else:
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
        for command in ([sam_cli, "validate", "--lint"], [sam_cli, "build"]):
            result = subprocess.run(command, cwd=root, env=env)
            if result.returncode != 0:
                print(f"motia build: `{' '.join(command[1:])}` failed", file=err)
                return 1
        # sam build copies the code without its __pycache__.
        built_functions = [p for p in sorted((root / SAM_BUILD_DIR).iterdir()) if p.is_dir()]
        compile_bytecode([(p, TASK_ROOT) for p in built_functions], err)
    print(f"motia build: done in {time.perf_counter() - started:.1f} s", file=out)
    return 0

"""Assemble the Lambda code folder that template.yaml's ``CodeUri`` points at.

``sam build``'s Python builder copies the *whole* ``CodeUri`` folder into every function and
excludes only a fixed list (``.venv``, ``.git``, ``__pycache__``...), not ``.venv-sam``, ``tests``,
``node_modules`` or the runtime layer's sources. So rather than point ``CodeUri`` at the project
root, ``make build`` copies just what a step needs at run time into ``.aws-sam/app/``:

* ``functions/`` and ``streams/`` (steps, their helpers, stream configs, ``streams/auth.py``);
* every step's ``includeFiles`` (relative to the step file, kept at the same place).

Not ``requirements.txt``: ``sam build`` would install it into every function (18 copies of the
same 46 MB here); the app's dependencies are a layer of their own (tools/layers.py), as is
motia_runtime. ``motia build`` calls this; ``python -m motia_runtime.tools.bundle`` runs it alone.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..errors import ConfigError
from ..project import load_project
from .template.names import CODE_URI

SOURCE_DIRS = ("functions", "streams")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "node_modules", ".DS_Store")


def assemble(root: Path | str, dest: Path | str | None = None) -> Path:
    """(Re)create ``dest`` (default ``<root>/.aws-sam/app``) with the files the steps need."""
    root = Path(root).resolve()
    target = Path(dest).resolve() if dest is not None else root / CODE_URI
    if target == root or root.is_relative_to(target):
        raise ValueError(f"refusing to replace {target}: it holds the project")
    project = load_project(root)
    if target.exists():
        shutil.rmtree(target)  # a stale file from a deleted step must not ship
    target.mkdir(parents=True)
    for name in SOURCE_DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, target / name, ignore=_IGNORE)
    for step in project.steps.values():
        rel = str(step.file.relative_to(root))
        for include in step.config.include_files:
            source = (step.file.parent / include).resolve()
            if not source.is_relative_to(root):
                raise ConfigError(f"{include!r} is outside the project", file=rel, field="includeFiles")
            if not source.exists():
                raise ConfigError(f"{include!r} does not exist", file=rel, field="includeFiles")
            copy = target / source.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, copy, ignore=_IGNORE, dirs_exist_ok=True)
            else:
                shutil.copy2(source, copy)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motia_runtime.tools.bundle", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=".")
    parser.add_argument("--out", help=f"default: <root>/{CODE_URI}")
    args = parser.parse_args(argv)
    try:
        target = assemble(args.root, args.out)
    except ConfigError as exc:
        print(f"motia: {exc}", file=sys.stderr)
        return 2
    print(f"assembled {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``motia types``: write the project's typed module, ``motia_types.py`` at the project root.

At the root because that is where the steps' own imports resolve (``functions.pets.store``,
``streams.pet_creation_stream``): an editor or mypy run from the project finds it with no
setting, and it is a file to commit and review like ``template.yaml`` (``--check`` fails when it
is stale). It imports nothing of the project, only ``typing`` and ``motia_runtime.typed``, so it
costs nothing to import at run time; steps may still import it under ``TYPE_CHECKING`` only.

``motia dev`` and ``motia check`` refresh it when it already exists (``refresh``), so it follows
the steps while you edit; they never create it, so a project that does not use it gets no file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from ...errors import ConfigError
from ...project import Project, load_project
from .module import render_module

MODULE = "motia_types.py"


def write_types(root: Path | str, *, check: bool = False, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Exit status: 0 written (or current), 1 stale under ``check``, 2 the project is invalid."""
    root = Path(root).resolve()
    try:
        text = render_module(load_project(root))
    except ConfigError as exc:
        print(f"motia: {exc}", file=err)
        return 2
    target = root / MODULE
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if check:
        if current != text:
            print(f"motia: {target} is {'out of date' if current else 'missing'}; run `motia types`", file=err)
            return 1
        print(f"{target} is up to date", file=out)
        return 0
    if current != text:
        _write(target, text)
    print(f"wrote {target}", file=out)
    return 0


def _write(target: Path, text: str) -> None:
    # Whole or not at all: an editor (or another `motia dev` worker) never reads half a module.
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)


def refresh(project: Project) -> Path | None:
    """Rewrite an existing ``motia_types.py`` when the project changed it; the path if written.
    A failure to write is reported, not raised: the server or the check goes on without it."""
    target = project.root / MODULE
    if not project.complete or not target.is_file():
        return None
    try:
        text = render_module(project)
        if target.read_text(encoding="utf-8") == text:
            return None
        _write(target, text)
    except (OSError, ConfigError) as exc:
        print(f"motia: could not refresh {target}: {exc}", file=sys.stderr)
        return None
    return target

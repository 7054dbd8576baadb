"""``motia generate``: write template.yaml from the project, or check that it is current."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..errors import ConfigError
from ..project import load_project
from .template import build_template, render_yaml, stale_diff

DEFAULT_OUTPUT = "template.yaml"


def generated_text(root: Path | str) -> str:
    return render_yaml(build_template(load_project(root)))


def generate(root: Path | str, output: Path | str | None = None, *, check: bool = False,
             out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Exit status: 0 written (or current), 1 stale under ``check``, 2 the project is invalid."""
    root = Path(root).resolve()
    target = Path(output) if output is not None else root / DEFAULT_OUTPUT
    try:
        text = generated_text(root)
    except ConfigError as exc:
        print(f"motia: {exc}", file=err)
        return 2
    if check:
        committed = target.read_text(encoding="utf-8") if target.is_file() else ""
        diff = stale_diff(committed, text, path=str(target))
        if diff:
            reason = "is out of date" if committed else "does not exist"
            print(f"motia: {target} {reason}; run `motia generate` and commit the result.\n{diff}", file=err)
            return 1
        print(f"{target} is up to date", file=out)
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}", file=out)
    return 0

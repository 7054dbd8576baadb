"""Writing a throwaway project (``{relative path: source}``) for a test's own ``motia dev``."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write each file (its source dedented) under ``root``; returns ``root``.

    Step and stream modules are named after their path: give them names no other project loaded
    in the same test process uses."""
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root

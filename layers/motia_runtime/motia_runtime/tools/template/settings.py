"""The project's deploy settings in ``pyproject.toml`` ``[tool.motia]`` (read by ``motia generate``
and ``motia build``)::

    [tool.motia]
    architecture = "arm64"        # or "x86_64": the functions' and layers' CPU (default arm64)
    environment = ["OPENAI_MODEL"] # see app_env.py
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ...errors import ConfigError

FILE = "pyproject.toml"
REQUIREMENTS = "requirements.txt"
ARCHITECTURES = ("arm64", "x86_64")
# Graviton: about 20% cheaper per GB-second, and the runtime's dependencies ship aarch64 wheels.
DEFAULT_ARCHITECTURE = "arm64"


def tool_motia(root: Path) -> dict[str, Any]:
    """``[tool.motia]`` of ``root/pyproject.toml`` ({} when there is none)."""
    path = root / FILE
    if not path.is_file():
        return {}
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=FILE) from None
    table = config.get("tool", {}).get("motia", {})
    if not isinstance(table, dict):
        raise ConfigError("must be a table", file=FILE, field="tool.motia")
    return table


def architecture(root: Path) -> str:
    value = tool_motia(root).get("architecture", DEFAULT_ARCHITECTURE)
    if value not in ARCHITECTURES:
        raise ConfigError(f"{value!r} is not a Lambda architecture; use one of {', '.join(ARCHITECTURES)}",
                          file=FILE, field="tool.motia.architecture")
    return str(value)


def app_requirements(root: Path) -> list[str]:
    """The requirement lines of the project's requirements.txt (comments and blanks dropped)."""
    path = root / REQUIREMENTS
    if not path.is_file():
        return []
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):  # -r, -e, --index-url...: pip options would bypass the platform pin
            raise ConfigError(f"line {number}: pip options are not supported in a Lambda layer's requirements "
                              f"({line!r}); list requirements only", file=REQUIREMENTS)
        lines.append(line)
    return lines

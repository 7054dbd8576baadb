"""App settings the functions read from the environment (an API key, a model name), declared in the
project's ``pyproject.toml``::

    [tool.motia]
    environment = ["OPENAI_API_KEY", "OPENAI_MODEL"]

Each name becomes a template parameter (``EnvOpenaiApiKey``, empty by default, ``NoEcho`` when the
name looks secret) passed to every function, so ``sam deploy --parameter-overrides`` sets it and a
redeploy keeps it, instead of a value typed into the Lambda console that the next deploy resets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .settings import FILE, tool_motia

FIELD = "tool.motia.environment"
_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_RESERVED = ("MOTIA_", "AWS_", "LAMBDA_", "POWERTOOLS_")
_SECRET = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL", re.I)


def app_environment(root: Path) -> list[str]:
    """The declared names, or [] when the project declares none."""
    names = tool_motia(root).get("environment", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError("must be a list of environment variable names", file=FILE, field=FIELD)
    for name in names:
        if not _NAME.match(name):
            raise ConfigError(f"{name!r} is not an environment variable name (A-Z, 0-9, _)", file=FILE, field=FIELD)
        if name.startswith(_RESERVED):
            raise ConfigError(f"{name!r} is reserved for the runtime and AWS", file=FILE, field=FIELD)
    if len(set(names)) != len(names):
        raise ConfigError("lists a name twice", file=FILE, field=FIELD)
    return sorted(names)


def parameter_name(name: str) -> str:
    """``OPENAI_API_KEY`` → ``EnvOpenaiApiKey`` (parameter names are alphanumeric)."""
    return "Env" + "".join(part.capitalize() for part in name.split("_") if part)


def env_parameters(names: list[str]) -> dict[str, Any]:
    return {
        parameter_name(name): {
            "Type": "String",
            "Default": "",
            **({"NoEcho": True} if _SECRET.search(name) else {}),
            "Description": f"{name} for the app's functions (declared in {FILE} [{FIELD}]).",
        }
        for name in names
    }


def env_variables(names: list[str]) -> dict[str, Any]:
    return {name: {"Ref": parameter_name(name)} for name in names}

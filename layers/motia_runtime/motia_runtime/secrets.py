"""App secrets on Lambda: read from SSM Parameter Store or Secrets Manager, never passed as plain
environment values in the template.

The project declares them in ``pyproject.toml``::

    [tool.motia.secrets]
    OPENAI_API_KEY = "ssm:/motia-app/openai-api-key"      # a SecureString parameter
    DB_PASSWORD = "secretsmanager:motia-app/db-password"  # a secret's name

``motia generate`` passes the list to every function that loads the project (``MOTIA_SECRETS``)
and grants each exactly ``ssm:GetParameter`` / ``secretsmanager:GetSecretValue`` on those. When a
function builds its runtime it reads them (Powertools Parameters, cached ``MAX_AGE_S``) into its
own process environment, so steps read ``os.environ["OPENAI_API_KEY"]`` as they do under ``motia
dev``, where such settings come from the environment. ``secret(name)`` reads one again, through
the same cache, for code that wants a rotated value without a cold start.
"""

from __future__ import annotations

import json
import os

from .errors import ConfigError

ENV = "MOTIA_SECRETS"
MAX_AGE_S = 300
SOURCES = ("ssm", "secretsmanager")


def declared() -> dict[str, str]:
    """``{name: "ssm:<parameter>" | "secretsmanager:<secret>"}`` from ``MOTIA_SECRETS``."""
    raw = os.environ.get(ENV)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{ENV} is not JSON: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{ENV} must be a JSON object of name -> 'ssm:<parameter>' or 'secretsmanager:<secret>'")
    return value


class SecretNotFoundError(ConfigError):
    """The declared parameter or secret does not exist (yet): the setting is unset."""


_NOT_FOUND = ("ParameterNotFound", "ResourceNotFoundException")


def secret(name: str) -> str:
    """The current value of a declared secret (cached for ``MAX_AGE_S`` seconds)."""
    source = declared().get(name)
    if source is None:
        raise ConfigError(f"{name} is not a secret of this function ({ENV})")
    kind, _, reference = source.partition(":")
    from aws_lambda_powertools.utilities import parameters

    try:
        if kind == "ssm":
            value = parameters.get_parameter(reference, decrypt=True, max_age=MAX_AGE_S)
        elif kind == "secretsmanager":
            value = parameters.get_secret(reference, max_age=MAX_AGE_S)
        else:
            raise ConfigError(f"{name}: unknown secret source {kind!r} (use {' or '.join(SOURCES)})")
    except parameters.exceptions.GetParameterError as exc:
        error = SecretNotFoundError if any(code in str(exc) for code in _NOT_FOUND) else ConfigError
        raise error(f"{name}: could not read {source}: {exc}") from None
    return str(value)


def load_into_environ() -> list[str]:
    """Read every declared secret into this process's environment; returns the names of those that
    do not exist, which stay unset (as an empty template parameter leaves a setting empty). Any
    other failure (access denied, a throttled call) raises: the function must not run half set up."""
    missing = []
    for name in sorted(declared()):
        try:
            os.environ[name] = secret(name)
        except SecretNotFoundError:
            os.environ.pop(name, None)
            missing.append(name)
    return missing

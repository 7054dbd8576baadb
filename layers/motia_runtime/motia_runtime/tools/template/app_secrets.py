"""``[tool.motia.secrets]``: settings read from SSM Parameter Store or Secrets Manager at run time
(motia_runtime/secrets.py), with IAM granting each function that loads the project exactly those.

    [tool.motia.secrets]
    OPENAI_API_KEY = "ssm:/motia-app/openai-api-key"
    DB_PASSWORD = "secretsmanager:motia-app/db-password"
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...errors import ConfigError
from .names import HANDLERS, sub
from .settings import FILE

FIELD = "tool.motia.secrets"
ENV = "MOTIA_SECRETS"
_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SSM_NAME = re.compile(r"^/?[A-Za-z0-9_.\-/]+$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@\-]+$")


def app_secrets(table: dict[str, Any], environment: list[str]) -> dict[str, str]:
    """The declared secrets (name -> source), checked; ``environment`` must not list them too."""
    secrets = table.get("secrets", {})
    if not isinstance(secrets, dict):
        raise ConfigError("must be a table of NAME = \"ssm:<parameter>\" or \"secretsmanager:<secret>\"",
                          file=FILE, field=FIELD)
    for name, source in secrets.items():
        where = f"{FIELD}.{name}"
        if not _NAME.match(name):
            raise ConfigError(f"{name!r} is not an environment variable name (A-Z, 0-9, _)", file=FILE, field=where)
        kind, _, reference = source.partition(":") if isinstance(source, str) else ("", "", "")
        if kind == "ssm" and _SSM_NAME.match(reference):
            continue
        if kind == "secretsmanager" and _SECRET_NAME.match(reference):
            continue
        raise ConfigError(f"{source!r} is not \"ssm:<parameter name>\" or \"secretsmanager:<secret name>\"",
                          file=FILE, field=where)
    both = sorted(set(secrets) & set(environment))
    if both:
        raise ConfigError(f"{', '.join(both)} is declared both as a secret and in tool.motia.environment",
                          file=FILE, field=FIELD)
    return dict(sorted(secrets.items()))


_ARN = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}:"


def _arn(source: str) -> dict[str, str]:
    kind, _, reference = source.partition(":")
    if kind == "ssm":
        # A parameter's ARN has no slash after "parameter" when its name starts with one.
        return sub(_ARN.replace("{service}", "ssm") + f"parameter/{reference.lstrip('/')}")
    # Secrets Manager appends "-" and six random characters to a secret's ARN.
    return sub(_ARN.replace("{service}", "secretsmanager") + f"secret:{reference}-??????")


def policy(secrets: dict[str, str]) -> dict[str, Any]:
    statements = []
    for action, kind in (("ssm:GetParameter", "ssm"), ("secretsmanager:GetSecretValue", "secretsmanager")):
        arns = [_arn(s) for s in secrets.values() if s.startswith(f"{kind}:")]
        if arns:
            statements.append({"Effect": "Allow", "Action": [action], "Resource": arns})
    return {"Statement": statements}


def apply(resources: dict[str, dict[str, Any]], secrets: dict[str, str]) -> None:
    """Give every function that loads the project (not the fan-out) the list and the rights."""
    if not secrets:
        return
    for resource in resources.values():
        properties = resource.get("Properties") or {}
        if resource["Type"] != "AWS::Serverless::Function" or properties.get("Handler") == HANDLERS["fanout"]:
            continue
        properties.setdefault("Environment", {}).setdefault("Variables", {})[ENV] = json.dumps(
            secrets, separators=(",", ":"))
        properties.setdefault("Policies", []).append(policy(secrets))

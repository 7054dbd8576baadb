"""Secrets declared in ``[tool.motia.secrets]``: read from SSM and Secrets Manager on Lambda (CloudSim on
moto), never written into the template, and each function granted exactly those."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from motia_runtime.errors import ConfigError
from motia_runtime.project import load_project
from motia_runtime.testing import CloudSim
from motia_runtime.tools.template import build_template

FILES = {
    "pyproject.toml": '''
        [tool.motia]
        environment = ["PLAIN"]

        [tool.motia.secrets]
        API_KEY = "ssm:/demo/api-key"
        DB_PASSWORD = "secretsmanager:demo/db"
        NOT_YET = "ssm:/demo/not-created"
    ''',
    "functions/secrets_case/settings_step.py": '''
        import os

        config = {"type": "api", "name": "Settings", "path": "/settings", "method": "GET"}

        async def handler(req, ctx):
            names = ("API_KEY", "DB_PASSWORD", "NOT_YET", "PLAIN")
            return {"status": 200, "body": {n: os.environ.get(n) for n in names}}
    ''',
}


def test_secrets_reach_the_step_from_ssm_and_secrets_manager(make_project: Callable[[str, dict[str, str]], Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("API_KEY", "DB_PASSWORD", "NOT_YET"):
        monkeypatch.delenv(name, raising=False)
    root = make_project("secrets_app", FILES)
    with CloudSim(root) as sim:
        sim.client("ssm").put_parameter(Name="/demo/api-key", Value="sk-from-ssm", Type="SecureString")
        sim.client("secretsmanager").create_secret(Name="demo/db", SecretString="from-secrets-manager")
        response = sim.http("GET", "/settings")
        assert response.status == 200, response.body
        # A parameter that does not exist yet leaves its setting unset, as an empty parameter would.
        assert response.json() == {"API_KEY": "sk-from-ssm", "DB_PASSWORD": "from-secrets-manager", "NOT_YET": None,
                                   "PLAIN": ""}

    template = build_template(load_project(root))
    text = json.dumps(template)
    assert "sk-from-ssm" not in text and "API_KEY" not in template["Parameters"]
    function = template["Resources"]["SettingsFunction"]["Properties"]
    assert json.loads(function["Environment"]["Variables"]["MOTIA_SECRETS"]) == {
        "API_KEY": "ssm:/demo/api-key", "DB_PASSWORD": "secretsmanager:demo/db", "NOT_YET": "ssm:/demo/not-created"}
    account = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:"
    assert {"Statement": [
        {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": [
            {"Fn::Sub": (account % "ssm") + "parameter/demo/api-key"},
            {"Fn::Sub": (account % "ssm") + "parameter/demo/not-created"}]},
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [
            {"Fn::Sub": (account % "secretsmanager") + "secret:demo/db-??????"}]},
    ]} in function["Policies"]
    # The fan-out never loads the project: no secrets, no rights to them.
    fanout = template["Resources"]["FanoutFunction"]["Properties"]
    assert "MOTIA_SECRETS" not in fanout.get("Environment", {}).get("Variables", {})


@pytest.mark.parametrize("secrets, field", [
    ('API_KEY = "vault:/x"', "tool.motia.secrets.API_KEY"),
    ('api-key = "ssm:/x"', "tool.motia.secrets.api-key"),
    ('PLAIN = "ssm:/x"', "tool.motia.secrets"),  # also in environment
])
def test_a_bad_secret_declaration_names_the_field(make_project: Callable[[str, dict[str, str]], Path],
                                                  secrets: str, field: str) -> None:
    root = make_project("bad_secrets", {**FILES, "pyproject.toml": f'[tool.motia]\nenvironment = ["PLAIN"]\n\n'
                                                                 f'[tool.motia.secrets]\n{secrets}\n'})
    with pytest.raises(ConfigError) as caught:
        build_template(load_project(root))
    assert (caught.value.file, caught.value.field) == ("pyproject.toml", field)

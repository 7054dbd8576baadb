"""SAM CLI's own view of template.yaml, with the SAM CLI of .venv-sam (make test creates it).

SAM CLI cannot share the main venv (it pins boto3/pydantic/click), so it runs as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow
ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}

# What `sam local start-api` does first: pick an API provider from the first API-like resource
# and list the routes. It crashes on "$connect" if the WebSocket API comes first (aws-sam-cli#2610).
ROUTES = """
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
stacks, _ = SamLocalStackProvider.get_stacks("template.yaml")
for route in ApiProvider(stacks).routes:
    print(",".join(sorted(route.methods)), route.path, route.function_name)
"""


def test_sam_local_start_api_would_serve_the_api_steps(sam_bin: Path) -> None:
    result = subprocess.run([str(sam_bin / "python"), "-c", ROUTES], cwd=REPO, env=ENV, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "OPTIONS,POST /open-ai OpenAiApiFunction" in result.stdout.splitlines()
    assert "$connect" not in result.stdout


def test_sam_validate_lint(sam_bin: Path) -> None:
    result = subprocess.run([str(sam_bin / "sam"), "validate", "--lint"], cwd=REPO, env=ENV,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr

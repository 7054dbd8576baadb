"""What the Lambda import path loads: ``import motia_runtime`` never imports boto3, and the entry
points import neither the local host, the CLI, the OpenAI SDK nor test tools."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("starlette", "uvicorn", "openai", "moto", "motia_runtime.hosts.local", "motia_runtime.cli",
         "motia_runtime.testing", "motia_runtime.tools")


def loaded_after(statement: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys; {statement}; print(','.join(n for n in {names!r} if n in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [n for n in out.stdout.strip().split(",") if n]


def test_importing_the_package_does_not_import_boto3() -> None:
    assert loaded_after("import motia_runtime", ("boto3", "botocore", *HEAVY)) == []


@pytest.mark.parametrize("entry", ["api", "queue", "schedule", "websocket", "fanout"])
def test_entry_points_stay_lean(entry: str) -> None:
    assert loaded_after(f"import motia_runtime.hosts.aws.{entry}", ("boto3", *HEAVY)) == []


@pytest.mark.parametrize("entry", ["api", "queue", "schedule"])
def test_step_functions_import_neither_the_pusher_nor_the_subscriptions(entry: str) -> None:
    # Nor Powertools' batch utility (its import brings every one of Powertools' event classes).
    unused = ("motia_runtime.adapters.aws.pusher", "motia_runtime.adapters.aws.subscriptions",
              "motia_runtime.protocol", "aws_lambda_powertools.utilities.batch",
              "aws_lambda_powertools.utilities.data_classes")
    assert loaded_after(f"import motia_runtime.hosts.aws.{entry}", unused) == []

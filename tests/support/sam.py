"""SAM's own transform of a generated template, in this process (samtranslator, which moto brings)."""

from __future__ import annotations

import copy
from typing import Any

import pytest


class _NoManagedPolicies:
    """The transform asks IAM for managed policies' ARNs only for names it does not know; none here."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(template: dict[str, Any], *, bucket: str = "bucket", region: str = "us-east-1") -> dict[str, Any]:
    """``template`` as CloudFormation gets it after ``sam package`` and SAM's transform: the local code
    folders become S3 objects in ``bucket``. ``template`` itself is left as it was."""
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    template["Globals"]["Function"]["CodeUri"] = f"s3://{bucket}/app.zip"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://{bucket}/layer.zip"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_DEFAULT_REGION", region)
        out: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    return out

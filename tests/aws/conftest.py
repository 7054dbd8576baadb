"""Fixtures for the AWS tests: moto, the contract's tables, and throwaway projects.

Adapter tests create their tables from ``CONTRACT_TEMPLATE`` (the table shapes agreed with the
template generator, written out here so these tests do not depend on it); the end-to-end tests
use ``CloudSim``, which builds everything from ``build_template(project)``.

Temporary projects give their flow folders and stream files unique names: step modules are
named after their path, and two projects in one process must not share a module name.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from motia_runtime.testing.resources import Resources, create_resources

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"

_KEYS = {
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
}
CONTRACT_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "StateTable": {"Type": "AWS::DynamoDB::Table", "Metadata": {"Motia": {"role": "state-table"}},
                       "Properties": {**_KEYS, "TableName": "state"}},
        "StreamsTable": {"Type": "AWS::DynamoDB::Table", "Metadata": {"Motia": {"role": "streams-table"}},
                         "Properties": {**_KEYS, "TableName": "streams",
                                        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                                        "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True}}},
        "ConnectionsTable": {
            "Type": "AWS::DynamoDB::Table", "Metadata": {"Motia": {"role": "connections-table"}},
            "Properties": {
                **_KEYS, "TableName": "connections",
                "AttributeDefinitions": [*_KEYS["AttributeDefinitions"],
                                         {"AttributeName": "roomShard", "AttributeType": "S"}],
                "GlobalSecondaryIndexes": [{
                    "IndexName": "byRoomShard",
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["shards"]},
                    "KeySchema": [{"AttributeName": "roomShard", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}],
                }],
                "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            },
        },
        "EventBus": {"Type": "AWS::Events::EventBus", "Metadata": {"Motia": {"role": "bus"}},
                     "Properties": {"Name": "motia-bus"}},
    }
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


@pytest.fixture
def resources(aws: None) -> Resources:
    clients = {name: boto3.client(name, region_name=REGION) for name in ("dynamodb", "sqs", "events")}
    return create_resources(CONTRACT_TEMPLATE, clients, stack="t", region=REGION, account="123456789012",
                            websocket_api_id="none")


@pytest.fixture
def ddb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def count_calls() -> Callable[[Any], list[str]]:
    """``count_calls(client)``: the operations a boto3 client makes from then on (a botocore hook)."""

    def start(client: Any) -> list[str]:
        calls: list[str] = []
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
        return calls

    return start


ProjectFactory = Callable[[str, dict[str, str]], Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """``make_project(name, {relative path: source})`` writes a project under tmp_path."""

    def make(name: str, files: dict[str, str]) -> Path:
        root = tmp_path / name
        for rel, source in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        return root

    return make


@pytest.fixture
def openai_project(tmp_path: Path) -> Path:
    """The repo's own OpenAI example (functions/openai, streams/openai_stream.py), copied into a
    project of its own so the tests do not load the other apps being built in the same tree."""
    root = tmp_path / "openai_app"
    flow = root / "functions" / "openai_e2e"
    flow.mkdir(parents=True)
    for source in (REPO / "functions" / "openai").glob("*_step.py"):
        shutil.copy(source, flow / source.name)
    (root / "streams").mkdir()
    shutil.copy(REPO / "streams" / "openai_stream.py", root / "streams" / "openai_e2e_stream.py")
    return root

"""The store contract suites against the DynamoDB stores, on moto.

The DynamoDB stream store announces nothing in-process: its changes are the table's stream
records (the fan-out Lambda pushes from them), so the recorder here reads those.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config

from motia_runtime.adapters.aws import DynamoDBStateStore, DynamoDBStreamStore
from motia_runtime.adapters.aws.streams import change_from_record
from motia_runtime.ports.streams import StreamChange
from motia_runtime.testing.resources import Resources
from motia_runtime.testing.store_contract import ChangeRecorder, SharedStreamStoreContract, StateStoreContract
from tests.aws.conftest import REGION, aws, ddb, resources  # noqa: F401 - the moto fixtures


class AtomicCalls:
    """A boto3 client whose calls run one at a time. Real DynamoDB applies each conditional
    write atomically; moto checks the condition and writes in separate steps with no lock, so
    two threads' conditional updates can both pass. This gives moto DynamoDB's atomicity."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call


@pytest.fixture
def atomic_ddb(ddb: Any) -> AtomicCalls:  # noqa: F811
    return AtomicCalls(ddb)


class TableStreamRecorder(ChangeRecorder):
    """The changes in the streams table's DynamoDB stream, from when the recorder was made."""

    def __init__(self, resources: Resources) -> None:  # noqa: F811
        self.client = boto3.client("dynamodbstreams", region_name=REGION,
                                   config=Config(account_id_endpoint_mode="disabled"))
        self.arn = resources.stream_arns["streams-table"]
        self.skip = len(self._read())

    def _read(self) -> list[StreamChange]:
        changes = []
        for shard in self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            iterator = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard["ShardId"],
                                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for record in self.client.get_records(ShardIterator=iterator)["Records"]:
                image = record["dynamodb"]
                change = change_from_record(record["eventName"], image.get("NewImage"), image.get("OldImage"))
                if change is not None:
                    changes.append(change)
        return changes

    async def seen(self) -> list[StreamChange]:
        return self._read()[self.skip:]


class TestDynamoDBStreamStore(SharedStreamStoreContract):
    @pytest.fixture
    def store(self, resources: Resources, atomic_ddb: AtomicCalls) -> DynamoDBStreamStore:  # noqa: F811
        return DynamoDBStreamStore(resources.tables["streams-table"], client=atomic_ddb)

    @pytest.fixture
    def peer(self, resources: Resources, atomic_ddb: AtomicCalls) -> DynamoDBStreamStore:  # noqa: F811
        return DynamoDBStreamStore(resources.tables["streams-table"], client=atomic_ddb)  # another Lambda

    @pytest.fixture
    def changes(self, resources: Resources) -> ChangeRecorder:  # noqa: F811
        return TableStreamRecorder(resources)

    @pytest.mark.xfail(strict=True, reason=(
        "known gap: a write is only conditioned on the item's own stamp, so a Lambda whose clock is "
        "behind the joining Lambda's can stamp a change below the client's sync stamp (dropped as stale)"))
    async def test_a_write_after_a_read_is_stamped_above_the_readers_clock(
            self, store: DynamoDBStreamStore, peer: DynamoDBStreamStore, stream: str) -> None:
        await super().test_a_write_after_a_read_is_stamped_above_the_readers_clock(store, peer, stream)


class TestDynamoDBStateStore(StateStoreContract):
    @pytest.fixture
    def store(self, resources: Resources, atomic_ddb: AtomicCalls) -> DynamoDBStateStore:  # noqa: F811
        return DynamoDBStateStore(resources.tables["state-table"], client=atomic_ddb)

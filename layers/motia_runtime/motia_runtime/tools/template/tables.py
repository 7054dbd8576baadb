"""The app-wide data plane: the three DynamoDB tables and the EventBridge bus.

Key formats live in motia_runtime's DynamoDB adapter; the template only fixes the key names
(``pk``/``sk``, strings), the streams table's change stream and the TTL attributes.
"""

from __future__ import annotations

from typing import Any

from .names import BUS, CONNECTIONS_TABLE, STATE_TABLE, STREAMS_TABLE, app_metadata

TTL_ATTRIBUTE = "expiresAt"


def _key_schema(hash_key: str, range_key: str) -> list[dict[str, str]]:
    return [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": range_key, "KeyType": "RANGE"}]


def _attributes(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def _table(role: str, properties: dict[str, Any], *, retain: bool) -> dict[str, Any]:
    resource: dict[str, Any] = {"Type": "AWS::DynamoDB::Table"}
    # State and stream items are the app's data: they outlive `sam delete` and a replacement
    # (delete them by hand). Connections are disposable and expire on their own.
    policy = "Retain" if retain else "Delete"
    resource["DeletionPolicy"] = policy
    resource["UpdateReplacePolicy"] = policy
    resource["Metadata"] = app_metadata(role)
    resource["Properties"] = {"BillingMode": "PAY_PER_REQUEST", **properties}
    return resource


def tables(*, state_stream: bool = False, connections_stream: bool = False) -> dict[str, dict[str, Any]]:
    """``state_stream``: the state table gets a change stream (state triggers read it);
    ``connections_stream``: the connections table gets one (streams' ``on_leave`` hooks read the
    removals of subscription rows from it)."""
    state: dict[str, Any] = {"AttributeDefinitions": _attributes("pk", "sk"), "KeySchema": _key_schema("pk", "sk")}
    if state_stream:
        state["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    leave: dict[str, Any] = {"StreamSpecification": {"StreamViewType": "OLD_IMAGE"}} if connections_stream else {}
    return {
        STATE_TABLE: _table("state-table", state, retain=True),
        STREAMS_TABLE: _table(
            "streams-table",
            {
                "AttributeDefinitions": _attributes("pk", "sk"),
                "KeySchema": _key_schema("pk", "sk"),
                # The fan-out needs the old image too: a delete carries only the old one.
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                # send() events are short-lived records in the item's partition (ordered with
                # its changes); TTL removes them without a write-capacity cost.
                "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            },
            retain=True,
        ),
        CONNECTIONS_TABLE: _table(
            "connections-table",
            {
                "AttributeDefinitions": _attributes("pk", "sk", "roomShard"),
                "KeySchema": _key_schema("pk", "sk"),
                # The fan-out Queries subscribers of a room shard (<room>#<shard>, rooms being
                # stream#group and stream#group#id); it never Scans. Sharded so that no index
                # key holds a big room (docs/scaling.md); only the keys and a room counter's
                # shard count are read, so only they are projected.
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "byRoomShard",
                        "KeySchema": _key_schema("roomShard", "sk"),
                        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["shards"]},
                    }
                ],
                # $disconnect is best effort, so rows also expire (after the 2 h connection cap).
                "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
                **leave,
            },
            retain=False,
        ),
    }


def event_bus() -> dict[str, dict[str, Any]]:
    return {
        BUS: {
            "Type": "AWS::Events::EventBus",
            "Metadata": app_metadata("bus"),
            # The stack name keeps two deployments of the app (stages) on separate buses.
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-motia"}},
        }
    }

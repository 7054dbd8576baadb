"""DynamoDB's TTL deletion, which moto does not perform: what ``CloudSim.expire_ttl()`` runs.

DynamoDB deletes an item some time after the epoch-seconds value of the table's TTL attribute
has passed (typically within minutes; AWS documents "within a few days"), as a service deletion
that appears in the table's stream as a REMOVE record with the old image. moto keeps the TTL
setting but never deletes, so a test calls this when it wants the deletion to have happened: it
deletes the due items of every table with TTL enabled, each conditionally on the attribute still
being due (as DynamoDB re-checks before deleting), and the REMOVE records then flow through
``pump_streams()`` like any other.
"""

from __future__ import annotations

import time
from typing import Any


def expire_due(dynamodb: Any, tables: list[str], now: float | None = None) -> int:
    """Delete the items whose TTL attribute is at or before ``now`` (epoch seconds; default the
    wall clock) from those of ``tables`` that have TTL enabled; returns how many went."""
    moment = int(time.time() if now is None else now)
    deleted = 0
    for table in tables:
        spec = dynamodb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
        if spec.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or not spec.get("AttributeName"):
            continue
        attribute = spec["AttributeName"]
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=table, FilterExpression="#ttl <= :now", ExpressionAttributeNames={"#ttl": attribute},
            ExpressionAttributeValues={":now": {"N": str(moment)}})
        for page in pages:
            for item in page.get("Items", []):
                try:
                    dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys},
                                         ConditionExpression="#ttl <= :now",
                                         ExpressionAttributeNames={"#ttl": attribute},
                                         ExpressionAttributeValues={":now": {"N": str(moment)}})
                except dynamodb.exceptions.ConditionalCheckFailedException:
                    continue  # written again meanwhile with a later TTL, or none
                deleted += 1
    return deleted

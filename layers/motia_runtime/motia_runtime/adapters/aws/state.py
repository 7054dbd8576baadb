"""StateStore on a DynamoDB table (``pk`` = group, ``sk`` = key); see ``keys.py`` for the layout."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pydantic_core

from ...contention import BUDGET_S, RaceBackoff
from ...errors import StateContentionError, StateError
from ...jsonsafe import loads_stored
from ...ports.state import StateMutation, StatePage, StateStore, check_page_args, page_of
from . import _client
from . import keys as k
from ._client import LazyClient, error_code, in_thread
from .tracing import run_stamp

if TYPE_CHECKING:  # the dev extra's boto3-stubs
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

# BatchWriteItem takes at most 25 requests.
_BATCH = 25
# A write keeps the first createdAt (get_group's order survives updates) and stamps the trace and
# trigger depth of the run, which state triggers read from the table's stream.
_SET = "SET #v = :v, #u = :now, #c = if_not_exists(#c, :now), #t = :trace, #d = :depth"
_NAMES = {"#v": k.VALUE, "#u": k.UPDATED_AT, "#c": k.CREATED_AT, "#t": k.TRACE_ID, "#d": k.DEPTH}


def _stamp() -> dict[str, Any]:
    trace, depth = run_stamp()
    return {":trace": k.s(trace or ""), ":depth": k.n(depth)}


def _encode(group: str, key: str, value: Any) -> str:
    try:
        return pydantic_core.to_json(value).decode()
    except pydantic_core.PydanticSerializationError as exc:
        raise StateError(f"state {group}/{key}: value is not JSON-serialisable: {exc}") from None


class DynamoDBStateStore(StateStore):
    """Values are JSON strings; ``createdAt`` keeps "oldest key first" order for ``get_group``."""

    def __init__(self, table_name: str, client: Any | None = None, contention_budget_s: float = BUDGET_S) -> None:
        self.table_name = table_name
        self.contention_budget_s = contention_budget_s  # how long an update retries lost races
        self._client: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    async def _call(self, op: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return await in_thread(getattr(self._client.get(), op), TableName=self.table_name, **kwargs)
        except _client.AWS_ERRORS as exc:
            if error_code(exc) == "ValidationException" and "size" in str(exc).lower():
                raise StateError(f"state {what}: the value is over DynamoDB's 400 KB item limit") from exc
            raise StateError(f"state {what}: DynamoDB {op} on {self.table_name} failed: {exc}") from exc

    async def get(self, group: str, key: str) -> Any | None:
        out = await self._call("get_item", f"{group}/{key}", Key=k.key(group, key), ConsistentRead=True)
        item = out.get("Item")
        return loads_stored(item[k.VALUE]["S"]) if item else None

    async def set(self, group: str, key: str, value: Any) -> Any:
        now = int(time.time() * 1000)
        await self._call(
            "update_item", f"{group}/{key}",
            Key=k.key(group, key),
            # One write that keeps the first createdAt, so get_group's order survives updates.
            UpdateExpression=_SET,
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={":v": k.s(_encode(group, key, value)), ":now": k.n(now), **_stamp()},
        )
        return value

    async def mutate(self, group: str, key: str, fn: StateMutation) -> tuple[Any | None, Any]:
        _, old, new = await self.mutate_entry(group, key, fn)
        return old, new

    async def mutate_entry(self, group: str, key: str, fn: StateMutation) -> tuple[bool, Any | None, Any]:
        # Optimistic: a conditional write that succeeds only if the value is still the one read;
        # a lost race waits (backoff with jitter, contention.py) and reads again, for the budget.
        what = f"{group}/{key}"
        races = RaceBackoff(self.contention_budget_s)
        while True:
            out = await self._call("get_item", what, Key=k.key(group, key), ConsistentRead=True)
            item = out.get("Item")
            raw = item[k.VALUE]["S"] if item else None
            old = None if raw is None else loads_stored(raw)
            new = fn(None if raw is None else loads_stored(raw))
            now = int(time.time() * 1000)
            values: dict[str, Any] = {":v": k.s(_encode(group, key, new)), ":now": k.n(now), **_stamp()}
            if raw is None:
                condition = "attribute_not_exists(#v)"
            else:
                condition = "#v = :old"
                values[":old"] = k.s(raw)
            try:
                await in_thread(
                    self._client.get().update_item, TableName=self.table_name, Key=k.key(group, key),
                    UpdateExpression=_SET, ConditionExpression=condition, ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues=values,
                )
            except _client.AWS_ERRORS as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise StateError(f"state {what}: DynamoDB update_item on {self.table_name} failed: {exc}") from exc
                if not await races.lost():
                    raise StateContentionError(group, key, races.attempts, races.elapsed_s) from None
                continue
            return raw is not None, old, new

    async def delete(self, group: str, key: str) -> Any | None:
        return (await self.delete_entry(group, key))[1]

    async def delete_entry(self, group: str, key: str) -> tuple[bool, Any | None]:
        out = await self._call("delete_item", f"{group}/{key}", Key=k.key(group, key), ReturnValues="ALL_OLD")
        old = out.get("Attributes")
        return (True, loads_stored(old[k.VALUE]["S"])) if old else (False, None)

    async def _query(self, group: str, keys_only: bool = False) -> list[dict[str, Any]]:
        names = {"#pk": k.PK, "#sk": k.SK} if keys_only else {"#pk": k.PK}
        projection = {"ProjectionExpression": "#pk, #sk"} if keys_only else {}
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page = await self._call(
                "query", f"group {group}", KeyConditionExpression="#pk = :pk", ExpressionAttributeNames=names,
                ExpressionAttributeValues={":pk": k.s(group)}, ConsistentRead=True, **projection,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    async def items(self, group: str) -> list[tuple[str, Any]]:
        rows = await self._query(group)
        rows.sort(key=lambda r: (int(r.get(k.CREATED_AT, {}).get("N", "0")), r[k.SK]["S"]))
        return [(r[k.SK]["S"], loads_stored(r[k.VALUE]["S"])) for r in rows]

    async def get_group(self, group: str) -> list[Any]:
        return [value for _, value in await self.items(group)]

    async def page(self, group: str, *, limit: int, after: str | None = None, descending: bool = False) -> StatePage:
        # A Query on the partition in sort-key order (DynamoDB compares string keys as UTF-8
        # bytes), from ``after``: only the page (and one key past it) is read.
        check_page_args(limit)
        condition, values = "#pk = :pk", {":pk": k.s(group)}
        if after is not None:
            condition += " AND #sk < :after" if descending else " AND #sk > :after"
            values[":after"] = k.s(after)
        rows: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while len(rows) <= limit:
            out = await self._call(
                "query", f"group {group}", KeyConditionExpression=condition,
                ExpressionAttributeNames={"#pk": k.PK, **({"#sk": k.SK} if after is not None else {})},
                ExpressionAttributeValues=values, ConsistentRead=True, ScanIndexForward=not descending,
                Limit=limit + 1 - len(rows), **({"ExclusiveStartKey": start} if start else {}),
            )
            rows.extend(out.get("Items", []))
            start = out.get("LastEvaluatedKey")
            if not start:
                break
        return page_of([(r[k.SK]["S"], loads_stored(r[k.VALUE]["S"])) for r in rows], limit)

    async def clear(self, group: str) -> None:
        rows = await self._query(group, keys_only=True)
        for start in range(0, len(rows), _BATCH):
            requests: list[WriteRequestTypeDef] = [{"DeleteRequest": {"Key": {k.PK: r[k.PK], k.SK: r[k.SK]}}}
                                                   for r in rows[start:start + _BATCH]]
            await self._batch_write(group, requests)

    async def _batch_write(self, group: str, requests: Sequence[WriteRequestTypeDef]) -> None:
        try:
            left = await in_thread(_client.write_batch, self._client.get(), self.table_name, requests)
        except _client.AWS_ERRORS as exc:
            raise StateError(f"state clear {group}: DynamoDB batch_write_item failed: {exc}") from exc
        if left:
            raise StateError(f"state clear {group}: DynamoDB kept refusing {left} deletes (throttled) after "
                             f"{_client.BATCH_ROUNDS} tries")

    async def list_groups(self) -> list[str]:
        groups: set[str] = set()
        start: dict[str, Any] | None = None
        while True:
            after: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            try:
                page = await in_thread(
                    self._client.get().scan, TableName=self.table_name, ProjectionExpression="#pk",
                    ExpressionAttributeNames={"#pk": k.PK}, **after,
                )
            except _client.AWS_ERRORS as exc:
                raise StateError(f"state list_groups: DynamoDB scan on {self.table_name} failed: {exc}") from exc
            groups.update(r[k.PK]["S"] for r in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(groups)

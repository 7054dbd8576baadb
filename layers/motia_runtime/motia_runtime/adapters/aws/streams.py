"""StreamStore on a DynamoDB table with a NEW_AND_OLD_IMAGES stream; see ``keys.py`` for the layout.

Changes reach clients through DynamoDB Streams and the fan-out Lambda, not through in-process
listeners, so this store never calls ``_notify``; :func:`change_from_record` turns a stream
record back into the :class:`StreamChange` the write produced.

History: ``send()`` events are records in the group's partition (``~event#<ts>#<uuid>``) that
DynamoDB's TTL removes after the stream's history window (``StreamConfig.history``) plus a
margin; ``history()`` reads them back and leaves out any past the window that DynamoDB has not
deleted yet. The window bounds what is kept; ``max_events`` bounds a read (more events than that
since ``since``: a resync).

Item TTL: an item set with ``ttl`` carries ``expiresAt`` (seconds, the table's TTL attribute)
and ``expiresAtMs``. Reads treat it as gone from ``expiresAtMs`` on; DynamoDB deletes it later
(typically within minutes, documented as up to a few days), and that deletion's REMOVE record
is what the fan-out pushes as the ``delete``.

Timestamps: every item carries ``ts``, its last change's stamp from the writer's
MonotonicClock. Lambdas run on different machines, so a writer's clock may be behind the stamp
already stored; each write is therefore conditional on ``ts < new ts`` and, when DynamoDB
refuses it, the clock is advanced past the stored stamp and the write is made again. No record
with a non-increasing stamp is ever written, so a client never drops a change as stale.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pydantic_core

from ...clock import MonotonicClock
from ...contention import BUDGET_S, RaceBackoff
from ...errors import ItemTooLargeError, StreamContentionError, StreamError
from ...jsonsafe import loads_stored
from ...ports.streams import ChangeType, Mutation, StreamChange, StreamStore, now_ms, stored_item
from . import _client
from . import keys as k
from ._client import LazyClient, error_code, in_thread
from .tracing import run_stamp

if TYPE_CHECKING:  # the dev extra's boto3-stubs
    from mypy_boto3_dynamodb import DynamoDBClient

# How long a send() event record lives: the replay window (a client rejoining with ``since``
# gets the events after it read back from these records; see events_since) plus a margin.
# DynamoDB deletes expired items lazily (within days), so reads never rely on the deletion.
EVENT_TTL_S = 360
EVENT_TTL_MARGIN_S = 60  # kept this much past the history window: a slow reader still finds them
MAX_STAMP_ATTEMPTS = 5
_CONDITION_FAILED = "ConditionalCheckFailedException"


class _VersionConflictError(StreamError):
    """Another writer changed the item between mutate's read and its write."""


def _json(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


def _check_id(id: str) -> None:
    if k.is_event_sk(id):
        raise StreamError(f"item ids may not start with {k.EVENT_SK_PREFIX!r} (reserved for send() events)")


def _num(value: Any) -> int:
    """A number attribute from DynamoDB JSON ({"N": "1"}) or deserialised (Decimal)."""
    return int(value["N"]) if isinstance(value, Mapping) else int(value)


def _str(value: Any) -> str:
    return str(value["S"]) if isinstance(value, Mapping) else str(value)


def _live(record: Mapping[str, Any], now: int) -> bool:
    """Whether an item record has not expired (DynamoDB may keep expired ones for a while)."""
    return k.EXPIRES_AT_MS not in record or _num(record[k.EXPIRES_AT_MS]) > now


def expired(record: Mapping[str, Any] | None, now: int) -> bool:
    """Whether a record is of an item set with a TTL that has run out by ``now`` (epoch ms)."""
    return record is not None and k.EXPIRES_AT_MS in record and _num(record[k.EXPIRES_AT_MS]) <= now


def _item(record: Mapping[str, Any]) -> dict[str, Any]:
    return stored_item(loads_stored(_str(record[k.DATA])), _str(record[k.SK]), _num(record[k.CREATED_AT]))


class DynamoDBStreamStore(StreamStore):
    def __init__(self, table_name: str, client: Any | None = None, clock: MonotonicClock | None = None,
                 event_ttl_s: int = EVENT_TTL_S, contention_budget_s: float = BUDGET_S) -> None:
        super().__init__(clock)
        self.table_name = table_name
        self.event_ttl_s = event_ttl_s
        self.contention_budget_s = contention_budget_s  # how long an update retries lost races
        self._client: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    async def _call(self, op: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return await in_thread(getattr(self._client.get(), op), TableName=self.table_name, **kwargs)
        except _client.AWS_ERRORS as exc:
            raise self._error(op, what, exc) from exc

    def _error(self, op: str, what: str, exc: BaseException) -> StreamError:
        if error_code(exc) == "ValidationException" and "size" in str(exc).lower():
            return ItemTooLargeError(f"stream {what}: the item is over DynamoDB's 400 KB limit")
        return StreamError(f"stream {what}: DynamoDB {op} on {self.table_name} failed: {exc}")

    # -- reads ------------------------------------------------------------------------------
    async def _get_record(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        out = await self._call("get_item", f"{stream}/{group_id}/{id}",
                               Key=k.key(k.stream_pk(stream, group_id), id), ConsistentRead=True)
        record = out.get("Item")
        return record if record and _str(record.get(k.KIND, {"S": ""})) == k.KIND_ITEM else None

    async def get(self, stream: str, group_id: str, id: str) -> dict[str, Any] | None:
        if k.is_event_sk(id):
            return None
        record = await self._get_record(stream, group_id, id)
        return _item(record) if record and _live(record, now_ms()) else None

    async def get_group(self, stream: str, group_id: str) -> list[dict[str, Any]]:
        # send() records share the partition and linger until DynamoDB's lazy TTL sweep; their
        # sort keys are the range ["~event#", "~event$"), which item ids may not enter, so the two
        # ranges around it hold exactly the items and the records are never read.
        pk = k.s(k.stream_pk(stream, group_id))
        items: list[dict[str, Any]] = []
        now = now_ms()
        for condition, bound in (("#sk < :bound", k.EVENT_SK_PREFIX), ("#sk >= :bound", k.EVENT_SK_END)):
            start: dict[str, Any] | None = None
            while True:
                page = await self._call(
                    "query", f"{stream}/{group_id}", ConsistentRead=True,
                    KeyConditionExpression=f"#pk = :pk AND {condition}",
                    ExpressionAttributeNames={"#pk": k.PK, "#sk": k.SK},
                    ExpressionAttributeValues={":pk": pk, ":bound": k.s(bound)},
                    **({"ExclusiveStartKey": start} if start else {}),
                )
                items.extend(_item(r) for r in page.get("Items", [])
                             if _str(r.get(k.KIND, "")) == k.KIND_ITEM and _live(r, now))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
        return sorted(items, key=lambda i: (i["_createdAt"], i["id"]))

    async def list_groups(self, stream: str) -> list[str]:
        groups: set[str] = set()
        start: dict[str, Any] | None = None
        while True:
            page = await self._call(
                "scan", f"{stream} groups", ProjectionExpression="#group",
                FilterExpression="#stream = :stream AND #kind = :item AND (attribute_not_exists(#exp) OR #exp > :now)",
                ExpressionAttributeNames={"#group": k.GROUP_ID, "#stream": k.STREAM, "#kind": k.KIND,
                                          "#exp": k.EXPIRES_AT_MS},
                ExpressionAttributeValues={":stream": k.s(stream), ":item": k.s(k.KIND_ITEM), ":now": k.n(now_ms())},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            groups.update(_str(r[k.GROUP_ID]) for r in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(groups)

    # -- writes -----------------------------------------------------------------------------
    async def _write(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                     expected_version: int | None, expires_at: int | None = None,
                     encoded: bytes | None = None) -> StreamChange:
        """One UpdateItem: it replaces ``data``, keeps the first ``createdAt``, bumps ``version``
        and returns the old item (create vs update) without a read before the write."""
        _check_id(id)
        what = f"{stream}/{group_id}/{id}"
        names = {"#data": k.DATA, "#ts": k.TS, "#created": k.CREATED_AT, "#version": k.VERSION, "#kind": k.KIND,
                 "#stream": k.STREAM, "#group": k.GROUP_ID, "#id": k.ITEM_ID, "#trace": k.TRACE_ID,
                 "#depth": k.DEPTH, "#expires": k.EXPIRES_AT, "#expiresMs": k.EXPIRES_AT_MS}
        trace, depth = run_stamp()
        text = _json(data) if encoded is None else encoded.decode()  # set_json: the stream API's encoding
        values: dict[str, Any] = {
            ":data": k.s(text), ":kind": k.s(k.KIND_ITEM), ":stream": k.s(stream), ":group": k.s(group_id),
            ":id": k.s(id), ":zero": k.n(0), ":one": k.n(1), ":trace": k.s(trace or ""), ":depth": k.n(depth),
        }
        # A write without a TTL makes the item permanent again; one with a TTL sets when it goes.
        expiry = "REMOVE #expires, #expiresMs"
        if expires_at is not None:
            expiry = ", #expires = :expires, #expiresMs = :expiresMs"
            values[":expires"] = k.n(math.ceil(expires_at / 1000))
            values[":expiresMs"] = k.n(expires_at)
        condition = "(attribute_not_exists(#ts) OR #ts < :ts)"
        if expected_version == 0:
            condition += " AND attribute_not_exists(#version)"
        elif expected_version is not None:
            condition += " AND #version = :expected"
            values[":expected"] = k.n(expected_version)
        for _ in range(MAX_STAMP_ATTEMPTS):
            ts = self.clock.tick()
            try:
                out = await in_thread(
                    self._client.get().update_item, TableName=self.table_name,
                    Key=k.key(k.stream_pk(stream, group_id), id),
                    UpdateExpression="SET #data = :data, #ts = :ts, #kind = :kind, #stream = :stream, "
                                     "#group = :group, #id = :id, #trace = :trace, #depth = :depth, "
                                     "#created = if_not_exists(#created, :ts), "
                                     "#version = if_not_exists(#version, :zero) + :one"
                                     + (expiry if expires_at is not None else " " + expiry),
                    ConditionExpression=condition, ExpressionAttributeNames=names,
                    ExpressionAttributeValues={**values, ":ts": k.n(ts)},
                    ReturnValues="ALL_OLD", ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except _client.ClientError as exc:
                if error_code(exc) != _CONDITION_FAILED:
                    raise self._error("update_item", what, exc) from exc
                stored = exc.response.get("Item")  # ReturnValuesOnConditionCheckFailure (not in botocore's types)
                current = (stored if isinstance(stored, dict) else None) or await self._get_record(stream, group_id, id)
                current_version = _num(current[k.VERSION]) if current and k.VERSION in current else 0
                if expected_version is not None and current_version != expected_version:
                    raise _VersionConflictError() from None
                if current and k.TS in current:
                    # Our clock is behind the stored stamp (another Lambda wrote it): catch up.
                    self.clock.advance_to(_num(current[k.TS]))
                continue
            except _client.AWS_ERRORS as exc:
                raise self._error("update_item", what, exc) from exc
            old = out.get("Attributes")
            created_at = _num(old[k.CREATED_AT]) if old and k.CREATED_AT in old else ts
            version = _num(old[k.VERSION]) + 1 if old and k.VERSION in old else 1
            kind: ChangeType = "update" if old and k.DATA in old else "create"
            return StreamChange(stream, group_id, id, kind, stored_item(data, id, created_at), ts, version)
        raise StreamError(f"stream {what}: could not stamp the write above the stored one "
                          f"after {MAX_STAMP_ATTEMPTS} attempts")

    async def set(self, stream: str, group_id: str, id: str, data: dict[str, Any]) -> StreamChange:
        return await self._write(stream, group_id, id, data, expected_version=None)

    async def set_json(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                       encoded: bytes) -> StreamChange:
        return await self._write(stream, group_id, id, data, expected_version=None, encoded=encoded)

    async def set_expiring(self, stream: str, group_id: str, id: str, data: dict[str, Any],
                           expires_at: int) -> StreamChange:
        return await self._write(stream, group_id, id, data, expected_version=None, expires_at=expires_at)

    async def mutate(self, stream: str, group_id: str, id: str, fn: Mutation) -> StreamChange:
        # The item's TTL stays: ``update`` changes the data, not how long it lives.
        return await self._mutate(stream, group_id, id, fn, keep_expiry=True)

    async def mutate_expiring(self, stream: str, group_id: str, id: str, fn: Mutation,
                              expires_at: int | None) -> StreamChange:
        return await self._mutate(stream, group_id, id, fn, keep_expiry=False, expires_at=expires_at)

    async def _mutate(self, stream: str, group_id: str, id: str, fn: Mutation, *, keep_expiry: bool,
                      expires_at: int | None = None) -> StreamChange:
        # Optimistic: the write (with the expiry) lands only on the version read; a lost race
        # waits (backoff with jitter, contention.py) and reads again, for the budget at most.
        _check_id(id)
        races = RaceBackoff(self.contention_budget_s)
        while True:
            record = await self._get_record(stream, group_id, id)
            version = _num(record[k.VERSION]) if record else 0
            if record is not None:
                self.clock.advance_to(_num(record[k.TS]))
            live = record is not None and _live(record, now_ms())
            if keep_expiry:
                expires_at = _num(record[k.EXPIRES_AT_MS]) if live and record and k.EXPIRES_AT_MS in record else None
            data = fn(_item(record) if live and record else None)
            try:
                return await self._write(stream, group_id, id, data, expected_version=version,
                                         expires_at=expires_at)
            except _VersionConflictError:
                # Someone wrote in between: read again and re-apply fn, after a wait.
                if not await races.lost():
                    raise StreamContentionError(stream, group_id, id, races.attempts, races.elapsed_s) from None

    async def delete(self, stream: str, group_id: str, id: str) -> StreamChange | None:
        if k.is_event_sk(id):
            return None
        out = await self._call("delete_item", f"{stream}/{group_id}/{id}",
                               Key=k.key(k.stream_pk(stream, group_id), id), ReturnValues="ALL_OLD")
        old = out.get("Attributes")
        if not old or _str(old.get(k.KIND, {"S": ""})) != k.KIND_ITEM:
            return None
        change = change_from_record("REMOVE", None, old)
        assert change is not None
        self.clock.advance_to(change.timestamp)
        return change

    async def send(self, stream: str, group_id: str, id: str | None, event: dict[str, Any]) -> StreamChange:
        ts = self.clock.tick()
        record: dict[str, Any] = {
            k.PK: k.s(k.stream_pk(stream, group_id)), k.SK: k.s(k.event_sk(ts, uuid.uuid4().hex)),
            k.KIND: k.s(k.KIND_EVENT), k.STREAM: k.s(stream), k.GROUP_ID: k.s(group_id),
            k.EVENT: k.s(_json(event)), k.TS: k.n(ts), k.EXPIRES_AT: k.n(int(time.time()) + self._event_ttl(stream)),
        }
        if id is not None:
            record[k.ITEM_ID] = k.s(id)
        trace, depth = run_stamp()
        if trace:
            record[k.TRACE_ID] = k.s(trace)
        record[k.DEPTH] = k.n(depth)
        await self._call("put_item", f"{stream}/{group_id} event", Item=record)
        return StreamChange(stream, group_id, id, "event", event, ts, event_id=k.event_id_of(_str(record[k.SK])))

    def _event_ttl(self, stream: str) -> int:
        """How long a sent event's record is kept: the stream's history window and a margin, and at
        least ``event_ttl_s`` (the deployment-wide default)."""
        policy = self._history_policies.get(stream)
        return self.event_ttl_s if policy is None else max(self.event_ttl_s, policy.window_s + EVENT_TTL_MARGIN_S)

    async def history(self, stream: str, group_id: str, since: int | None) -> list[StreamChange] | None:
        policy = self.history_policy(stream)
        floor = now_ms() - policy.window_s * 1000
        if policy.window_s == 0 or (since is not None and since < floor):
            return None
        events = await self.events_since(stream, group_id, floor - 1 if since is None else since,
                                         limit=None if since is None else policy.max_events + 1)
        if since is not None and len(events) > policy.max_events:
            return None  # more than the stream keeps for a client: it reads the group instead
        return [e for e in events if e.timestamp >= floor][-policy.max_events:]

    async def events_since(self, stream: str, group_id: str, since: int,
                           limit: int | None = None) -> list[StreamChange]:
        """The group's ``send()`` events stamped after ``since``, oldest first, read from their
        records (which DynamoDB keeps for ``event_ttl_s`` at least)."""
        pk = k.s(k.stream_pk(stream, group_id))
        out: list[StreamChange] = []
        start: dict[str, Any] | None = None
        while True:
            page = await self._call(
                "query", f"{stream}/{group_id} events", ConsistentRead=True,
                KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
                ExpressionAttributeNames={"#pk": k.PK, "#sk": k.SK},
                ExpressionAttributeValues={":pk": pk, ":low": k.s(k.event_sk(since + 1, "")),
                                           ":high": k.s(k.EVENT_SK_END)},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for record in page.get("Items", []):
                change = change_from_record("INSERT", record, None)
                if change is not None and change.timestamp > since:
                    out.append(change)
            start = page.get("LastEvaluatedKey")
            if not start or (limit is not None and len(out) >= limit):
                return out


def change_from_record(event_name: str, new: Mapping[str, Any] | None,
                       old: Mapping[str, Any] | None) -> StreamChange | None:
    """The change a DynamoDB stream record stands for, or None when it is not one to push.

    Images may be DynamoDB JSON or deserialised. Skipped: removals of ``send()`` events (their
    TTL expiry), and records this store did not write whole (moto, for one, records an extra
    keys-only INSERT before an UpdateItem's real one).
    """
    image = old if event_name == "REMOVE" else new
    if not image or k.KIND not in image:
        return None
    kind = _str(image[k.KIND])
    stream, group_id = _str(image.get(k.STREAM, "")), _str(image.get(k.GROUP_ID, ""))
    if not stream:
        stream, group_id = k.split_stream_pk(_str(image[k.PK]))
    if kind == k.KIND_EVENT:
        if event_name != "INSERT":
            return None
        id = _str(image[k.ITEM_ID]) if k.ITEM_ID in image else None
        return StreamChange(stream, group_id, id, "event", json.loads(_str(image[k.EVENT])), _num(image[k.TS]),
                            event_id=k.event_id_of(_str(image[k.SK])))
    if kind != k.KIND_ITEM or k.DATA not in image:
        return None
    version = _num(image[k.VERSION]) if k.VERSION in image else None
    if event_name == "REMOVE":
        # The REMOVE record has only the old image: the delete is stamped just above the last
        # change, so it orders after it on every client without needing the deleter's clock.
        return StreamChange(stream, group_id, _str(image[k.SK]), "delete", _item(image), _num(image[k.TS]) + 1,
                            None if version is None else version + 1)
    change_type: ChangeType = "create" if event_name == "INSERT" or not old or k.DATA not in old else "update"
    return StreamChange(stream, group_id, _str(image[k.SK]), change_type, _item(image), _num(image[k.TS]), version)


def trace_id_of(new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> str | None:
    """The trace id stamped on a stream record's image, if any (for a removal, the last writer's)."""
    image = new or old or {}
    value = image.get(k.TRACE_ID)
    return (_str(value) or None) if value is not None else None


def depth_of(new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> int:
    """The trigger depth stamped on a record's image (0 when none: written outside any trigger)."""
    image = new or old or {}
    return _num(image[k.DEPTH]) if k.DEPTH in image else 0


def item_of(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stored item an image holds (a stream record's old image, say), or None."""
    if not image or k.DATA not in image or _str(image.get(k.KIND, "")) != k.KIND_ITEM:
        return None
    return _item(image)

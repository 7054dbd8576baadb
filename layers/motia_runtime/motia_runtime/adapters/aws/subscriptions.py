"""WebSocket connections and their stream subscriptions in DynamoDB; see ``keys.py`` for the layout.

One partition per connection holds the connection record (with the auth context
``authenticate`` returned) and one record per subscription, so removing a connection is one
query and a batch delete. Subscriptions carry their room and room shard, and the sparse
``byRoomShard`` index lists a room shard's subscribers for the fan-out. The index is eventually
consistent: a subscription is usually visible to it within a second, and the join's ``sync``
snapshot covers the gap.

Rooms are sharded so that no index key holds a big room (docs/scaling.md). Each join adds one
to the room's counter item; a room is small (one shard, ``<room>#0``) until its counter reaches
``big_room`` joins, then its counter records ``shards`` (the deployment's shard count, kept by
the room for its life even if the setting changes) *before* the joining subscription is written
to shard 1..``shards``, so the fan-out, which reads the counter with shard 0, never misses a
subscription in another shard. Nothing is moved: shard 0 keeps the joins made while the room was
small (fewer than ``big_room``), and the fan-out hands them out to the other shards. The
counter expires with the last subscription it could cover (TTL a minute past theirs): a room
that is quiet for the connection lifetime becomes small again.

Records expire (TTL ``expiresAt``) a while after API Gateway's 2-hour connection limit, so a
``$disconnect`` that never arrived does not leave subscribers behind for ever.

Calls are synchronous: the fan-out runs them from a thread pool.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pydantic_core

from ...errors import MotiaError
from ...protocol import Subscription
from . import _client
from . import keys as k
from ._client import LazyClient

if TYPE_CHECKING:  # the dev extra's boto3-stubs
    from mypy_boto3_dynamodb import DynamoDBClient

# API Gateway closes a connection after 2 hours; an hour of slack covers clock skew and retries.
CONNECTION_TTL_S = 3 * 3600
# A DynamoDB stream keeps records 24 h, so no retry of a batch comes later than that.
LEDGER_TTL_S = 24 * 3600
MAX_LEDGER_BYTES = 300 * 1024  # under DynamoDB's 400 KB item limit
_BATCH = 25
# A room goes from one shard to ``shards`` at this many joins. Below it one invocation posts to the
# whole room (250 posts: ~0.15 s), which two hops would only slow down and multiply. The joins
# made while the room was small stay in shard 0 (nothing is moved), so shard 0 carries up to this
# many subscriptions more than the others: kept small, so that shard is not the one that lags.
DEFAULT_BIG_ROOM = 250
# A big room's shards: ~1,560 connections each at 100,000 subscribers, which one delivery invocation
# (one vCPU, ~0.5 ms of CPU per post) serves in under a second (docs/scaling.md).
DEFAULT_SHARDS = 64


@dataclass(frozen=True, slots=True)
class RoomView:
    """What the fan-out needs of a room from one query of its shard 0: its shard count (1 for a
    small room) and the subscribers in shard 0 (all of a small room's; a big room's joins from
    while it was small)."""

    connections: set[str]
    shards: int

    @property
    def big(self) -> bool:
        return self.shards > 1


Claim = Literal["counted", "held", "full"]


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    connection_id: str
    auth_context: Any
    connected_at: int  # epoch ms
    expires_at: int  # epoch s


class DynamoDBSubscriptions:
    def __init__(self, table_name: str, client: Any | None = None, ttl_s: int = CONNECTION_TTL_S, *,
                 shards: int = DEFAULT_SHARDS, big_room: int = DEFAULT_BIG_ROOM) -> None:
        if shards < 1 or big_room < 1:
            raise MotiaError(f"subscriptions: shards ({shards}) and big_room ({big_room}) must be at least 1")
        self.table_name = table_name
        self.ttl_s = ttl_s
        self.shards = shards
        self.big_room = big_room
        self._client: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    def _call(self, op: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client.get(), op)(TableName=self.table_name, **kwargs)
            return result
        except _client.AWS_ERRORS as exc:
            raise MotiaError(f"subscriptions: {what}: DynamoDB {op} on {self.table_name} failed: {exc}") from exc

    # -- connections ------------------------------------------------------------------------
    def add_connection(self, connection_id: str, auth_context: Any = None) -> ConnectionRecord:
        now = time.time()
        try:
            auth = pydantic_core.to_json(auth_context).decode()
        except pydantic_core.PydanticSerializationError as exc:
            raise MotiaError(f"the auth context returned by authenticate is not JSON-serialisable: {exc}") from None
        record = ConnectionRecord(connection_id, json.loads(auth), int(now * 1000), int(now) + self.ttl_s)
        self._call("put_item", f"add connection {connection_id}", Item={
            **k.key(connection_id, k.CONNECTION_SK), k.AUTH: k.s(auth), k.CONNECTED_AT: k.n(record.connected_at),
            k.EXPIRES_AT: k.n(record.expires_at),
        })
        return record

    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        out = self._call("get_item", f"get connection {connection_id}", Key=k.key(connection_id, k.CONNECTION_SK),
                         ConsistentRead=True)
        item = out.get("Item")
        if not item:
            return None
        return ConnectionRecord(connection_id, json.loads(item[k.AUTH]["S"]), int(item[k.CONNECTED_AT]["N"]),
                                int(item[k.EXPIRES_AT]["N"]))

    def take_event_token(self, connection_id: str, rate_per_s: float, burst: int) -> bool:
        """Count one client event against the connection's token bucket (kept on its record, so
        every Lambda serving the connection shares it); False when it is spent or the connection
        has no record. A conditional write on the last count, retried on a race."""
        for _ in range(5):
            item = self._call("get_item", f"event budget {connection_id}", Key=k.key(connection_id, k.CONNECTION_SK),
                              ConsistentRead=True).get("Item")
            if not item:
                return False
            now = int(time.time() * 1000)
            last = int(item[k.EVENT_TOKENS_AT]["N"]) if k.EVENT_TOKENS_AT in item else None
            tokens = float(burst) if last is None else min(
                float(burst), float(item[k.EVENT_TOKENS]["N"]) + (now - last) / 1000 * rate_per_s)
            if tokens < 1:
                return False
            condition = "attribute_not_exists(#at)" if last is None else "#at = :last"
            values = {":tokens": {"N": f"{tokens - 1:.6f}"}, ":now": k.n(now)}
            if last is not None:
                values[":last"] = k.n(last)
            try:
                self._client.get().update_item(
                    TableName=self.table_name, Key=k.key(connection_id, k.CONNECTION_SK),
                    UpdateExpression="SET #tokens = :tokens, #at = :now", ConditionExpression=condition,
                    ExpressionAttributeNames={"#tokens": k.EVENT_TOKENS, "#at": k.EVENT_TOKENS_AT},
                    ExpressionAttributeValues=values)
                return True
            except _client.AWS_ERRORS as exc:
                if _client.error_code(exc) != "ConditionalCheckFailedException":
                    raise MotiaError(f"subscriptions: event budget of {connection_id}: DynamoDB UpdateItem failed: "
                                     f"{exc}") from exc
        return False

    def remove_connection(self, connection_id: str) -> int:
        """Delete the connection and all its subscriptions; returns how many records went."""
        rows = self._partition(connection_id, keys_only=True)
        for start in range(0, len(rows), _BATCH):
            requests = [{"DeleteRequest": {"Key": {k.PK: r[k.PK], k.SK: r[k.SK]}}} for r in rows[start:start + _BATCH]]
            self._batch_write(connection_id, requests)
        return len(rows)

    # -- subscriptions ----------------------------------------------------------------------
    def subscribe(self, connection_id: str, sub: Subscription, expires_at: int | None = None,
                  auth: Any = None) -> None:
        """``auth``: the connection's auth context, kept on the row for the stream's ``on_leave``
        (run from the table's stream when the row goes, after the connection's own row may be gone)."""
        room = k.room(sub.stream_name, sub.group_id, sub.id)
        shards = self._count_join(room)
        item: dict[str, Any] = {
            **k.key(connection_id, k.subscription_sk(sub.subscription_id)),
            k.ROOM: k.s(room), k.ROOM_SHARD: k.s(k.room_shard(room, k.shard_of(connection_id, shards))),
            k.STREAM: k.s(sub.stream_name), k.GROUP_ID: k.s(sub.group_id), k.SUBSCRIPTION_ID: k.s(sub.subscription_id),
            k.EXPIRES_AT: k.n(expires_at or int(time.time()) + self.ttl_s),
        }
        if sub.id is not None:
            item[k.ITEM_ID] = k.s(sub.id)
        if auth is not None:
            item[k.AUTH] = k.s(pydantic_core.to_json(auth).decode())
        self._call("put_item", f"subscribe {connection_id}", Item=item)

    def _count_join(self, room: str) -> int:
        """Count a join on the room's counter; returns the room's shard count, raised first if
        this join makes the room big."""
        out = self._call(
            "update_item", f"count a join of {room}", Key=k.key(k.room_pk(room), k.ROOM_SK),
            UpdateExpression="ADD #joins :one SET #rs = :rs, #exp = :exp",
            ExpressionAttributeNames={"#joins": k.JOINS, "#rs": k.ROOM_SHARD, "#exp": k.EXPIRES_AT},
            ExpressionAttributeValues={":one": k.n(1), ":rs": k.s(k.room_shard(room, 0)),
                                       # a minute past any subscription written now (theirs <= now + ttl)
                                       ":exp": k.n(int(time.time()) + self.ttl_s + 60)},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        shards = int(out[k.SHARDS]["N"]) if k.SHARDS in out else 1
        if shards == 1 and self.shards > 1 and int(out[k.JOINS]["N"]) >= self.big_room:
            # Only ever set once (1 -> shards): a later join reads it back and never changes it.
            try:
                self._client.get().update_item(
                    TableName=self.table_name, Key=k.key(k.room_pk(room), k.ROOM_SK),
                    UpdateExpression="SET #shards = :shards", ConditionExpression="attribute_not_exists(#shards)",
                    ExpressionAttributeNames={"#shards": k.SHARDS},
                    ExpressionAttributeValues={":shards": k.n(self.shards)})
                shards = self.shards
            except _client.AWS_ERRORS as exc:
                if _client.error_code(exc) != "ConditionalCheckFailedException":
                    raise MotiaError(f"subscriptions: shard room {room}: DynamoDB UpdateItem failed: {exc}") from exc
                # Another join sharded it at the same time: read what it chose.
                got = self._call("get_item", f"room {room}", Key=k.key(k.room_pk(room), k.ROOM_SK),
                                 ConsistentRead=True).get("Item") or {}
                shards = int(got[k.SHARDS]["N"]) if k.SHARDS in got else 1
        return shards

    def unsubscribe(self, connection_id: str, subscription_id: str) -> Subscription | None:
        """Remove the subscription; the one removed, or None when there was none."""
        out = self._call("delete_item", f"unsubscribe {connection_id}",
                         Key=k.key(connection_id, k.subscription_sk(subscription_id)), ReturnValues="ALL_OLD")
        row = out.get("Attributes")
        return subscription_of(row) if row else None

    def subscriptions_of(self, connection_id: str) -> list[Subscription]:
        rows = self._partition(connection_id)
        return [subscription_of(r) for r in rows if r[k.SK]["S"].startswith(k.SUBSCRIPTION_SK_PREFIX)]

    def connections_in_room(self, stream: str, group_id: str, id: str | None = None) -> set[str]:
        """Connection ids subscribed to the room (a connection may hold several subscriptions
        there), from every shard of it."""
        room = k.room(stream, group_id, id)
        view = self.room_view(room)
        found = set(view.connections)
        for shard in range(1, view.shards + 1 if view.big else 1):
            found |= self.connections_in_shard(room, shard)
        return found

    def room_view(self, room: str) -> RoomView:
        """One query of the room's shard 0 (``room`` as ``keys.room`` makes it): its counter comes
        first, then the subscriptions made while the room was small (all of a small room's, at
        most ``big_room - 1`` of a big one's, which the fan-out hands out to the other shards)."""
        found: set[str] = set()
        shards = 1
        for rows in self._shard_pages(room, 0, limit=self.big_room + 1):
            for r in rows:
                if r[k.SK]["S"] == k.ROOM_SK:
                    shards = int(r[k.SHARDS]["N"]) if k.SHARDS in r else 1
                else:
                    found.add(r[k.PK]["S"])
        return RoomView(found, shards)

    def connections_in_shard(self, room: str, shard: int) -> set[str]:
        """The subscribers of one shard of a room (not the room's counter)."""
        return {r[k.PK]["S"] for rows in self._shard_pages(room, shard) for r in rows if r[k.SK]["S"] != k.ROOM_SK}

    def _shard_pages(self, room: str, shard: int, limit: int | None = None) -> Any:
        key = k.room_shard(room, shard)
        start: dict[str, Any] | None = None
        while True:
            page = self._call(
                "query", f"room shard {key}", IndexName=k.ROOM_INDEX, KeyConditionExpression="#rs = :rs",
                ProjectionExpression="#pk, #sk, #shards",
                ExpressionAttributeNames={"#rs": k.ROOM_SHARD, "#pk": k.PK, "#sk": k.SK, "#shards": k.SHARDS},
                ExpressionAttributeValues={":rs": k.s(key)}, **({"Limit": limit} if limit else {}),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            yield page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    # -- the cap on subscriptions per connection ---------------------------------------------
    def claim_subscription(self, connection_id: str, subscription_id: str, limit: int) -> Claim:
        """Count a new subscription against the connection's cap before it is written:
        ``"counted"`` (write it), ``"held"`` (the connection holds that subscription id already:
        the join replaces it, not counted again) or ``"full"`` (it holds ``limit`` already). One
        transaction checks the id and adds to the count on the connection record, so concurrent
        joins cannot pass the cap together."""
        count = {"#n": k.SUBSCRIPTION_COUNT, "#pk": k.PK}
        try:
            self._client.get().transact_write_items(TransactItems=[
                {"ConditionCheck": {"TableName": self.table_name,
                                    "Key": k.key(connection_id, k.subscription_sk(subscription_id)),
                                    "ConditionExpression": "attribute_not_exists(#pk)",
                                    "ExpressionAttributeNames": {"#pk": k.PK}}},
                {"Update": {"TableName": self.table_name, "Key": k.key(connection_id, k.CONNECTION_SK),
                            "UpdateExpression": "ADD #n :one",
                            "ConditionExpression": "attribute_exists(#pk) AND (attribute_not_exists(#n) OR #n < :max)",
                            "ExpressionAttributeNames": count,
                            "ExpressionAttributeValues": {":one": k.n(1), ":max": k.n(limit)}}},
            ])
            return "counted"
        except _client.AWS_ERRORS as exc:
            reasons = [r.get("Code") for r in getattr(exc, "response", {}).get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return "held"
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                return "full"  # (or the connection record went: a join racing its $disconnect)
            raise MotiaError(f"subscriptions: count a subscription of {connection_id}: DynamoDB "
                             f"TransactWriteItems on {self.table_name} failed: {exc}") from exc

    def release_subscription(self, connection_id: str) -> None:
        """Count one subscription less (after ``unsubscribe`` removed one, or a counted one was
        not written after all). Not in one
        transaction with the delete: a crash between the two leaves the cap one lower for the
        rest of that connection, which is the safe side."""
        try:
            self._client.get().update_item(
                TableName=self.table_name, Key=k.key(connection_id, k.CONNECTION_SK), UpdateExpression="ADD #n :less",
                ConditionExpression="#n > :zero", ExpressionAttributeNames={"#n": k.SUBSCRIPTION_COUNT},
                ExpressionAttributeValues={":less": k.n(-1), ":zero": k.n(0)})
        except _client.AWS_ERRORS as exc:
            if _client.error_code(exc) != "ConditionalCheckFailedException":  # not counted: nothing to undo
                raise MotiaError(f"subscriptions: uncount a subscription of {connection_id}: DynamoDB UpdateItem "
                                 f"on {self.table_name} failed: {exc}") from exc

    # -- the fan-out's retry ledger (see keys.py) -------------------------------------------
    def read_ledger(self, sequence_number: str) -> dict[str, set[str]]:
        """Who got which record (sequence number → connection ids) in an earlier attempt of a
        batch that starts at ``sequence_number``; empty when it is not a retry."""
        out = self._call("get_item", f"ledger {sequence_number}", ConsistentRead=True,
                         Key=k.key(k.ledger_pk(sequence_number), k.LEDGER_SK))
        item = out.get("Item")
        if not item:
            return {}
        return {seq: set(ids) for seq, ids in json.loads(item[k.DELIVERED]["S"]).items()}

    def write_ledger(self, sequence_number: str, delivered: dict[str, set[str]]) -> bool:
        """Record who got what before Lambda retries from ``sequence_number``; False when the
        ledger would be too large to store (the retry may then repeat frames)."""
        text = json.dumps({seq: sorted(ids) for seq, ids in delivered.items()}, separators=(",", ":"))
        if len(text) > MAX_LEDGER_BYTES:
            return False
        self._call("put_item", f"ledger {sequence_number}", Item={
            **k.key(k.ledger_pk(sequence_number), k.LEDGER_SK), k.DELIVERED: k.s(text),
            k.EXPIRES_AT: k.n(int(time.time()) + LEDGER_TTL_S),
        })
        return True

    # -- the delivery workers' ledger (see keys.py, hosts/aws/delivery.py) ---------------------
    def read_delivery(self, unit: str) -> tuple[int, dict[int, set[str]]]:
        """(last sequence number every subscriber of ``unit`` got, later sequence numbers → the
        connections that got them); (0, {}) for a unit never served."""
        out = self._call("get_item", f"delivery ledger {unit}", ConsistentRead=True,
                         Key=k.key(k.delivery_pk(unit), k.DELIVERY_SK))
        item = out.get("Item")
        if not item:
            return 0, {}
        partial = json.loads(item[k.PARTIAL]["S"]) if k.PARTIAL in item else {}
        return int(item[k.DONE]["S"]), {int(seq): set(ids) for seq, ids in partial.items()}

    def write_delivery(self, unit: str, done: int, partial: dict[int, set[str]]) -> bool:
        """Record how far ``unit`` is served; False when ``partial`` is too large to store (then
        only ``done`` is kept, and a retry may repeat the partial record's frames)."""
        text = json.dumps({str(seq): sorted(ids) for seq, ids in partial.items()}, separators=(",", ":"))
        stored = len(text) <= MAX_LEDGER_BYTES
        # A string: stream sequence numbers run to 40 digits, over DynamoDB's 38 for a number.
        item = {**k.key(k.delivery_pk(unit), k.DELIVERY_SK), k.DONE: k.s(str(done)),
                k.EXPIRES_AT: k.n(int(time.time()) + LEDGER_TTL_S)}
        if stored and partial:
            item[k.PARTIAL] = k.s(text)
        self._call("put_item", f"delivery ledger {unit}", Item=item)
        return stored

    # -- helpers ----------------------------------------------------------------------------
    def _partition(self, connection_id: str, keys_only: bool = False) -> list[dict[str, Any]]:
        names = {"#pk": k.PK, "#sk": k.SK} if keys_only else {"#pk": k.PK}
        projection = {"ProjectionExpression": "#pk, #sk"} if keys_only else {}
        rows: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._call(
                "query", f"connection {connection_id}", KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames=names, ExpressionAttributeValues={":pk": k.s(connection_id)},
                ConsistentRead=True, **projection, **({"ExclusiveStartKey": start} if start else {}),
            )
            rows.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return rows

    def _batch_write(self, connection_id: str, requests: list[dict[str, Any]]) -> None:
        try:
            left = _client.write_batch(self._client.get(), self.table_name, requests)
        except _client.AWS_ERRORS as exc:
            raise MotiaError(f"subscriptions: remove connection {connection_id}: batch delete failed: {exc}") from exc
        if left:
            raise MotiaError(f"subscriptions: remove connection {connection_id}: DynamoDB kept refusing {left} "
                             f"deletes (throttled) after {_client.BATCH_ROUNDS} tries")


def subscription_of(row: Mapping[str, Any]) -> Subscription:
    """The subscription a ``sub#`` row holds (DynamoDB JSON, from a read or a stream image)."""
    return Subscription(row[k.STREAM]["S"], row[k.GROUP_ID]["S"], row[k.ITEM_ID]["S"] if k.ITEM_ID in row else None,
                        row[k.SUBSCRIPTION_ID]["S"])

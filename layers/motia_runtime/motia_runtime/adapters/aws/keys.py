"""Every DynamoDB key and attribute format motia_runtime writes, in one module.

The SAM template (``motia generate``) and these formats must agree; the table shapes are:

state table        ``pk`` = group, ``sk`` = key; attributes ``value`` (JSON), ``createdAt``, ``updatedAt``.
streams table      ``pk`` = ``<stream>#<group>``, ``sk`` = item id; attributes ``kind`` = ``item``,
                   ``data`` (JSON), ``createdAt``, ``ts``, ``version``, ``stream``, ``groupId``, ``id``.
                   ``send()`` events share the group's partition with sk ``~event#<ts>#<uuid>``,
                   ``kind`` = ``event``, ``event`` (JSON) and a TTL in ``expiresAt`` (epoch seconds),
                   so DynamoDB Streams delivers them in order with the group's item changes.
connections table  ``pk`` = connection id; ``sk`` = ``#connection`` for the connection itself
                   (auth context in ``auth``) or ``sub#<subscriptionId>`` for a subscription, which
                   also carries ``room`` and ``roomShard`` = ``<room>#<shard>``; the
                   ``byRoomShard`` index (``roomShard``, ``sk``; keys and ``shards`` projected)
                   lists a room shard's subscribers, so no index key holds a whole big room.
                   Rooms are ``stream#group`` and ``stream#group#id``. Each room has a counter
                   item: ``pk`` = ``~room#<room>``, ``sk`` = ``#room``, ``joins`` (joins so far),
                   ``shards`` (1 while the room is small, then the deployment's shard count) and
                   ``roomShard`` = ``<room>#0``, so the fan-out's one query of shard 0 returns it
                   first (``#`` sorts before ``s``) with a small room's subscribers. Once the
                   room is big, a subscription goes to shard ``1 + crc32(connection id) % shards``
                   (``shard_of``); shard 0 keeps the joins made while it was small.
                   The fan-out's retry ledger: ``pk`` = ``~fanout#<sequence number>``, ``sk`` =
                   ``#delivered``, ``delivered`` (JSON: sequence number → connection ids) and a TTL.
                   The delivery workers' ledger, one per delivery unit (a group's shard):
                   ``pk`` = ``~delivery#<unit>``, ``sk`` = ``#ledger``, ``done`` (the last stream
                   sequence number delivered to every subscriber of the unit) and ``partial``
                   (JSON: later sequence numbers → connection ids that already got them).

Values are stored as JSON strings rather than DynamoDB maps: JSON numbers round-trip exactly
(DynamoDB's Decimal conversion does not take floats), ``set`` replaces the whole value with one
attribute write, and the fan-out never has to rebuild nested types from DynamoDB JSON.
"""

from __future__ import annotations

import zlib
from typing import Any

# Attribute names shared by the three tables.
PK = "pk"
SK = "sk"
EXPIRES_AT = "expiresAt"  # the TTL attribute of the streams and connections tables
CREATED_AT = "createdAt"
UPDATED_AT = "updatedAt"
TRACE_ID = "traceId"
# How many trigger hops led to the write (state and streams tables): the triggers function reads
# it from the change stream to stop trigger loops (see trigger_routing.py).
DEPTH = "triggerDepth"

# state table
VALUE = "value"

# streams table
KIND = "kind"
KIND_ITEM = "item"
KIND_EVENT = "event"
DATA = "data"
EVENT = "event"
TS = "ts"
VERSION = "version"
STREAM = "stream"
GROUP_ID = "groupId"
ITEM_ID = "id"
# An item set with a TTL: ``expiresAt`` (epoch seconds, DynamoDB's TTL attribute) and the exact
# expiry in ms, which reads compare with (DynamoDB deletes expired items within minutes to days).
EXPIRES_AT_MS = "expiresAtMs"
EVENT_SK_PREFIX = "~event#"
EVENT_SK_END = "~event$"  # the first sort key after every "~event#..." ('$' follows '#')

# connections table
ROOM_INDEX = "byRoomShard"
ROOM = "room"
ROOM_SHARD = "roomShard"  # the index's partition key: <room>#<shard>
ROOM_PK_PREFIX = "~room#"
ROOM_SK = "#room"  # sorts before every "sub#..." in a shard's index partition
JOINS = "joins"
SHARDS = "shards"
AUTH = "auth"
CONNECTION_SK = "#connection"
SUBSCRIPTION_SK_PREFIX = "sub#"
SUBSCRIPTION_ID = "subscriptionId"
CONNECTED_AT = "connectedAt"
# On the connection record: how many subscriptions the connection holds, for its cap.
SUBSCRIPTION_COUNT = "subscriptions"
# A connection's budget of client events (a token bucket): tokens left and when they were counted (ms).
EVENT_TOKENS = "eventTokens"
EVENT_TOKENS_AT = "eventTokensAt"


def s(value: str) -> dict[str, str]:
    """A DynamoDB string attribute value."""
    return {"S": value}


def n(value: int) -> dict[str, str]:
    """A DynamoDB number attribute value."""
    return {"N": str(value)}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {PK: s(pk), SK: s(sk)}


# -- streams table --------------------------------------------------------------------------
def stream_pk(stream: str, group_id: str) -> str:
    # Stream names are identifiers (no '#'), so splitting on the first '#' is unambiguous.
    return f"{stream}#{group_id}"


def split_stream_pk(pk: str) -> tuple[str, str]:
    stream, _, group_id = pk.partition("#")
    return stream, group_id


def event_sk(timestamp: int, unique: str) -> str:
    # Zero-padded so the sort key orders events by time within the partition.
    return f"{EVENT_SK_PREFIX}{timestamp:015d}#{unique}"


def is_event_sk(sk: str) -> bool:
    return sk.startswith(EVENT_SK_PREFIX)


def event_id_of(sk: str) -> str:
    """The unique part of an event's sort key: the ``eventId`` clients drop duplicates by."""
    return sk.rpartition("#")[2]


# -- fan-out delivery ledger (connections table) ----------------------------------------------
# When the fan-out reports a partial batch failure, Lambda hands the batch over again from the
# first failed record; the ledger, keyed by that record's sequence number, lists who already got
# each record so the retry does not post anything twice. Sparse (no ``room``): not in byRoom.
LEDGER_PK_PREFIX = "~fanout#"
LEDGER_SK = "#delivered"
DELIVERED = "delivered"


def ledger_pk(sequence_number: str) -> str:
    return f"{LEDGER_PK_PREFIX}{sequence_number}"


# -- delivery workers' ledger (connections table) --------------------------------------------
# One item per delivery unit (a stream group's shard, see hosts/aws/delivery.py): how far its
# subscribers have been served, so a redelivered or repacked message posts nothing twice.
DELIVERY_PK_PREFIX = "~delivery#"
DELIVERY_SK = "#ledger"
DONE = "done"
PARTIAL = "partial"


def delivery_pk(unit: str) -> str:
    return f"{DELIVERY_PK_PREFIX}{unit}"


# -- connections table ----------------------------------------------------------------------
def subscription_sk(subscription_id: str) -> str:
    return f"{SUBSCRIPTION_SK_PREFIX}{subscription_id}"


def _component(value: str) -> str:
    # '#' separates the parts of a room; escaping it (and '%', the escape character) keeps
    # group "a#b" from sharing a room with item "b" of group "a". Plain values are unchanged.
    return value.replace("%", "%25").replace("#", "%23")


def room(stream: str, group_id: str, id: str | None = None) -> str:
    """``stream#group`` for a group subscription, ``stream#group#id`` for an item subscription."""
    parts = [stream, group_id] if id is None else [stream, group_id, id]
    return "#".join(_component(p) for p in parts)


def room_pk(room_key: str) -> str:
    """The partition of a room's counter item."""
    return f"{ROOM_PK_PREFIX}{room_key}"


def room_shard(room_key: str, shard: int) -> str:
    """The index key of one shard of a room (a room key never ends in ``#<digits>`` by itself:
    its parts have '#' escaped)."""
    return f"{room_key}#{shard}"


def shard_of(connection_id: str, shards: int) -> int:
    """Which shard of a room with ``shards`` shards a connection belongs to: 0 for a small room
    (``shards`` 1), else 1..``shards`` (shard 0 keeps only the joins made while the room was
    small, which the stream consumer reads and hands out to the other shards by this same
    function). crc32, not ``hash()``: it must be the same in every Lambda process (``hash`` of a
    str is salted per process)."""
    return 1 + zlib.crc32(connection_id.encode()) % shards if shards > 1 else 0

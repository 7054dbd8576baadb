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
                   also carries ``room``; the ``byRoom`` index (``room``, ``sk``) lists a room's
                   subscribers. Rooms are ``stream#group`` and ``stream#group#id``. The fan-out's
                   retry ledger: ``pk`` = ``~fanout#<sequence number>``, ``sk`` = ``#delivered``,
                   ``delivered`` (JSON: sequence number → connection ids) and a TTL.

Values are stored as JSON strings rather than DynamoDB maps: JSON numbers round-trip exactly
(DynamoDB's Decimal conversion does not take floats), ``set`` replaces the whole value with one
attribute write, and the fan-out never has to rebuild nested types from DynamoDB JSON.
"""

from __future__ import annotations

from typing import Any

# Attribute names shared by the three tables.
PK = "pk"
SK = "sk"
EXPIRES_AT = "expiresAt"  # the TTL attribute of the streams and connections tables
CREATED_AT = "createdAt"
UPDATED_AT = "updatedAt"
TRACE_ID = "traceId"

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
EVENT_SK_PREFIX = "~event#"
EVENT_SK_END = "~event$"  # the first sort key after every "~event#..." ('$' follows '#')

# connections table
ROOM_INDEX = "byRoom"
ROOM = "room"
AUTH = "auth"
CONNECTION_SK = "#connection"
SUBSCRIPTION_SK_PREFIX = "sub#"
SUBSCRIPTION_ID = "subscriptionId"
CONNECTED_AT = "connectedAt"
# On the connection record: how many subscriptions the connection holds, for its cap.
SUBSCRIPTION_COUNT = "subscriptions"


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

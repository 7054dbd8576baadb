"""Lambda entry that turns table changes into stream and state triggers: DynamoDB stream records in,
queued trigger events out.

Handler string: ``motia_runtime.hosts.aws.triggers.handler``. Event sources: the streams table's
stream (when a step has a stream trigger), the state table's (when one has a state trigger) and
the connections table's (when a stream has an ``on_leave`` hook), each with
``ReportBatchItemFailures``.

Leave hooks: every removal of a subscription row (a ``leave``, ``$disconnect``, a 410 in the
fan-out, a rejoin replacing it, expiry) is one REMOVE record, so ``on_leave`` runs once per
subscription whatever removed it, with the auth context the row keeps for it.

It is a second consumer of the streams table's stream, beside the fan-out, so clients' frames
never wait for it and writers pay no extra call.

Per record: the change and the item before it (from the NEW_AND_OLD_IMAGES record), the trace id
and trigger depth the writer stamped on it (for a removal, those of the item's last write; for
the removal of an item past its TTL, a new trace at depth 1, as the local host gives it), then
``TriggerRouter`` (core) picks the matching trigger steps and builds their events, which go where
emitted events go: each FIFO trigger queue gets a direct ``SendMessage`` (message group = the
item, deduplication id derived from the record, so a retried batch does not queue a trigger
twice within SQS's five-minute window) and standard ones go through EventBridge.

A record whose triggers would go past ``MOTIA_TRIGGER_MAX_DEPTH`` is logged as an error and not
routed (locally the write itself is refused; here the write has happened before anyone can
tell). A failure to queue reports that record and the rest of the batch as failed, so Lambda
hands them over again in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ...adapters.aws import keys as k
from ...adapters.aws.streams import change_from_record, depth_of, expired, item_of, trace_id_of
from ...jsonsafe import loads_stored
from ...ports.events import Event
from ...ports.streams import now_ms
from ...trace import new_trace_id
from ...trigger_routing import ENV_MAX_DEPTH, TriggerRouter
from . import bootstrap


def _state_value(image: Mapping[str, Any] | None) -> Any:
    if not image or k.VALUE not in image:
        return None
    return loads_stored(image[k.VALUE]["S"])


def _expiry(record: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    """Whether a REMOVE record is an item's expiry: DynamoDB's TTL deletion (its service principal
    in ``userIdentity``), or a delete of an item already due when it was made (reads had dropped
    it; timed by the record's own time, not when this batch runs)."""
    if (record.get("userIdentity") or {}).get("principalId") == "dynamodb.amazonaws.com":
        return True
    at = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    return expired(old, int(at * 1000) if isinstance(at, int | float) else now_ms())


def events_for(router: TriggerRouter, record: Mapping[str, Any], streams_table: str | None) -> list[Event]:
    """The trigger events one DynamoDB stream record stands for."""
    dynamodb = record.get("dynamodb") or {}
    name = record.get("eventName", "")
    new, old = dynamodb.get("NewImage"), dynamodb.get("OldImage")
    source = str(record.get("eventSourceARN", ""))
    if name == "REMOVE" and _expiry(record, old):
        # No step's write removed it: a chain of its own, as the local host's sweeper starts one.
        trace_id, depth = new_trace_id(), 1
    else:
        trace_id, depth = trace_id_of(new, old) or new_trace_id(), depth_of(new, old) + 1
    if streams_table and f":table/{streams_table}/" in source:
        change = change_from_record(name, new, old)
        if change is None:
            return []
        events = router.stream_events(change, item_of(old) if change.type != "event" else None, trace_id, depth)
    else:
        keys = dynamodb.get("Keys") or {}
        if k.PK not in keys or k.SK not in keys:
            return []
        before, after = _state_value(old), _state_value(new)
        # From the images, not the event name: moto, for one, records a keys-only INSERT before
        # an UpdateItem's real record.
        if name == "REMOVE":
            kind = "delete" if old and k.VALUE in old else None
        elif new and k.VALUE in new:
            kind = "update" if old and k.VALUE in old else "create"
        else:
            kind = None
        if kind is None:
            return []
        events = router.state_events(keys[k.PK]["S"], keys[k.SK]["S"], kind, before, after, trace_id, depth)
    # One id per record and step: the FIFO deduplication id of a batch handed over again.
    return [replace(e, id=f"{record.get('eventID', '')}-{e.topic}"[:128]) for e in events]


def _left(record: Mapping[str, Any]) -> Any:
    """The removed subscription row of a connections-table record (with its auth context), or None."""
    dynamodb = record.get("dynamodb") or {}
    old = dynamodb.get("OldImage")
    if record.get("eventName") != "REMOVE" or not old or not old.get(k.SK, {}).get("S", "").startswith(
            k.SUBSCRIPTION_SK_PREFIX):
        return None
    # Imported at the first leave record: a function fed only stream and state changes never
    # needs the subscriptions' rows nor the wire protocol (cold start, bench/optimisations.md).
    from ...adapters.aws.subscriptions import subscription_of

    auth = loads_stored(old[k.AUTH]["S"]) if k.AUTH in old else None
    return subscription_of(old), auth


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log = bootstrap.logger(function="triggers")
    runtime = bootstrap.runtime()
    settings = bootstrap.settings()
    streams_table = settings.streams_table
    records = event.get("Records") or []
    limit = settings.limits.trigger_max_depth
    for index, record in enumerate(records):
        source = str(record.get("eventSourceARN", ""))
        if settings.connections_table and f":table/{settings.connections_table}/" in source:
            left = _left(record)
            if left is not None:
                sub, auth = left
                stream = runtime.stream(sub.stream_name)
                if stream is not None:
                    from ...stream_hooks import subscription_gone

                    bootstrap.run(subscription_gone(runtime, stream.config, sub, auth, log))
            continue
        try:
            events = events_for(runtime.triggers, record, streams_table)
            deep = [e for e in events if isinstance(e.data, dict) and e.data.get("depth", 0) > limit]
            if deep:
                log.error(f"trigger loop stopped: this change would start trigger hop {deep[0].data['depth']} of one "
                          f"chain, over the limit of {limit} ({ENV_MAX_DEPTH}); a trigger is probably writing what "
                          "triggers it again", {"traceId": deep[0].trace_id, "topics": [e.topic for e in deep]})
                events = [e for e in events if e not in deep]
            if events:
                bootstrap.run(runtime.bus.publish(events))
        except Exception as exc:
            log.exception(f"could not queue the triggers of a change: {type(exc).__name__}: {exc}",
                          {"sequenceNumber": (record.get("dynamodb") or {}).get("SequenceNumber")})
            return {"batchItemFailures": [{"itemIdentifier": (r.get("dynamodb") or {}).get("SequenceNumber")}
                                          for r in records[index:]]}
    return {"batchItemFailures": []}

"""Batch deletes under DynamoDB's throttling: what BatchWriteItem leaves unprocessed is resent after a
growing pause (adapters/aws/_client.write_batch), as AWS's docs for the call ask.

moto processes every request of a batch, so the client here answers as a throttled partition does:
of each call in the throttled rounds it sends only the first request on to moto and hands the rest
back as ``UnprocessedItems``. The writes themselves are moto's.
"""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

import pytest

from motia_runtime.adapters.aws import DynamoDBStateStore, DynamoDBSubscriptions, _client
from motia_runtime.errors import MotiaError, StateError
from motia_runtime.protocol import Subscription
from motia_runtime.testing.resources import Resources


class Throttled:
    """``ddb`` whose next ``rounds`` BatchWriteItem calls each get only their first ``through`` requests
    through (and the rest handed back unprocessed)."""

    def __init__(self, client: Any, rounds: int, through: int = 1) -> None:
        self._client = client
        self.rounds = rounds
        self.through = through
        self.calls: list[tuple[float, int]] = []  # (when, requests sent in that call)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's
        (table, requests), = RequestItems.items()
        self.calls.append((time.monotonic(), len(requests)))
        if self.rounds <= 0 or len(requests) <= self.through:
            return self._client.batch_write_item(RequestItems=RequestItems)  # type: ignore[no-any-return]
        self.rounds -= 1
        if self.through:
            self._client.batch_write_item(RequestItems={table: requests[:self.through]})
        return {"UnprocessedItems": {table: requests[self.through:]}}


def _gaps(calls: list[tuple[float, int]]) -> list[float]:
    return [later - earlier for (earlier, _), (later, _) in pairwise(calls)]


async def test_state_clear_resends_the_unprocessed_deletes_after_growing_pauses(resources: Resources,
                                                                               ddb: Any) -> None:
    table = resources.tables["state-table"]
    writer = DynamoDBStateStore(table, client=ddb)
    for n in range(31):
        await writer.set("g", f"k{n:02}", n)
    throttled = Throttled(ddb, rounds=3)
    await DynamoDBStateStore(table, client=throttled).clear("g")
    assert await writer.get_group("g") == []  # every delete went in the end
    # The first batch (25 deletes) took four sends, each after a longer pause than the last (half of
    # each pause is random: these are its lower bounds); then the second batch (6) went in one.
    assert [n for _, n in throttled.calls] == [25, 24, 23, 22, 6]
    first = _client.BATCH_FIRST_PAUSE_S
    for gap, pause in zip(_gaps(throttled.calls)[:3], [first, first * 2, first * 4], strict=True):
        assert gap >= pause / 2, (_gaps(throttled.calls), pause)


async def test_state_clear_gives_up_after_its_rounds_naming_what_was_refused(
        resources: Resources, ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_client, "BATCH_FIRST_PAUSE_S", 0.002)  # the same rounds, sooner
    monkeypatch.setattr(_client, "BATCH_MAX_PAUSE_S", 0.01)
    table = resources.tables["state-table"]
    writer = DynamoDBStateStore(table, client=ddb)
    for n in range(5):
        await writer.set("g", f"k{n}", n)
    throttled = Throttled(ddb, rounds=1000, through=0)
    refused = r"state clear g: DynamoDB kept refusing 5 deletes \(throttled\) after 8 tries"
    with pytest.raises(StateError, match=refused):
        await DynamoDBStateStore(table, client=throttled).clear("g")
    assert len(throttled.calls) == _client.BATCH_ROUNDS
    assert len(await writer.get_group("g")) == 5  # refused, so still there: the error says so


def test_a_connections_removal_resends_its_unprocessed_deletes(resources: Resources, ddb: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    table = resources.tables["connections-table"]
    subs = DynamoDBSubscriptions(table, client=ddb)
    subs.add_connection("c1")
    for n in range(30):
        subs.subscribe("c1", Subscription("chat", f"g{n}", None, f"s{n}"))
    throttled = Throttled(ddb, rounds=2)
    removed = DynamoDBSubscriptions(table, client=throttled).remove_connection("c1")
    assert subs.get_connection("c1") is None and subs.subscriptions_of("c1") == []
    assert [n for _, n in throttled.calls][:3] == [25, 24, 23] and sum(1 for _ in throttled.calls) >= 4
    first = _client.BATCH_FIRST_PAUSE_S
    for gap, pause in zip(_gaps(throttled.calls)[:2], [first, first * 2], strict=True):
        assert gap >= pause / 2, (_gaps(throttled.calls), pause)
    assert removed >= 31  # the connection's record and its 30 subscriptions (and their room rows)

    monkeypatch.setattr(_client, "BATCH_FIRST_PAUSE_S", 0.002)
    subs.add_connection("c2")
    subs.subscribe("c2", Subscription("chat", "g", None, "s"))
    with pytest.raises(MotiaError, match="remove connection c2: DynamoDB kept refusing"):
        DynamoDBSubscriptions(table, client=Throttled(ddb, rounds=1000, through=0)).remove_connection("c2")

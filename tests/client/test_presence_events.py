"""The Python client's presence and client-event APIs against the real local server: two
clients in one group see each other (``members``, ``on_presence``), one's ``send_event`` reaches
the other's ``on_event``, a refused event comes back as an ``error`` event with the connection
kept, and a closed client leaves the other's member list."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from motia_runtime.client import StreamClient
from motia_runtime.errors import StreamConnectionError
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow


async def until(predicate: Any, timeout_s: float = 5) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_presence_and_client_events_between_two_clients(server: InProcessServer, group: str) -> None:
    ann_client, bob_client = StreamClient(server.ws_url), StreamClient(server.ws_url)
    await ann_client.connect()
    await bob_client.connect()
    try:
        ann = ann_client.subscribe_group("room", group, presence={"name": "ann"})
        seen: list[list[str]] = []
        ann.on_presence(lambda members: seen.append(sorted(m["state"]["name"] for m in members)))
        await ann.ready()
        bob = bob_client.subscribe_group("room", group, presence={"name": "bob"})
        await bob.ready()
        await until(lambda: len(ann.members) == 2 and len(bob.members) == 2)
        assert sorted(m["state"]["name"] for m in bob.members.values()) == ["ann", "bob"]
        assert seen[-1] == ["ann", "bob"]

        typing: list[Any] = []
        ann.on_event("typing", typing.append)
        errors: list[Any] = []
        bob.on_event("error", errors.append)
        await bob.send_event("typing", {"name": "bob"})
        await until(lambda: typing == [{"name": "bob"}])
        await bob.send_event("typing", {"nobody": 1})  # breaks the schema: an error event, still joined
        await bob.send_event("shout", {"name": "bob"})  # not a declared type
        await until(lambda: len(errors) == 2)
        assert [e["code"] for e in errors] == ["INVALID_EVENT", "INVALID_EVENT"]
        assert bob.status == "live"
        await bob.send_event("typing", {"name": "bob again"})
        await until(lambda: typing[-1] == {"name": "bob again"})

        await bob_client.close()
        await until(lambda: len(ann.members) == 1)
        assert [m["state"] for m in ann.members.values()] == [{"name": "ann"}]
        with pytest.raises(StreamConnectionError):
            await bob.send_event("typing", {"name": "bob"})
    finally:
        await ann_client.close()
        await bob_client.close()

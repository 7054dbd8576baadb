"""Real clients on the cloud code path: ``motia cloud`` serving the client tests' project from the
template ``motia generate`` writes for it (tests/client/project.py: stream ``todo``, ``POST /ops``,
``streams/auth.py``). The Python client (``motia_runtime.client``) connects with Motia's token
header, is refused as locally, gets the same error for a refused join, and reconnects and resyncs
after ``motia cloud`` restarts on the same ports.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.client import Backoff, ConnectionStatus, StreamClient
from motia_runtime.errors import StreamAuthError, StreamSubscriptionError
from tests.client.project import GOOD_TOKEN, ops, todo, write_project
from tests.support.cloud_server import CloudServer

pytestmark = pytest.mark.slow
FAST = Backoff(initial=0.05, maximum=0.5)


def generated_project(root: Path) -> Path:
    write_project(root)
    subprocess.run([sys.executable, "-m", "motia_runtime", "generate", "--root", str(root)], check=True,
                   capture_output=True, timeout=120)
    return root


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    root = generated_project(tmp_path_factory.mktemp("client-cloud"))
    server = CloudServer(root, root / ".logs").start()
    yield server
    server.stop()


async def wait_until(predicate: Any, timeout: float = 30) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_a_good_token_opens_private_groups_through_connect(cloud: CloudServer) -> None:
    async with StreamClient(cloud.ws_url, auth_token=GOOD_TOKEN) as client:
        sub = client.subscribe_item("todo", "private-alice", "a")
        assert await sub.ready(30) is None  # a sync with null: the item does not exist yet
        await ops(cloud.http_url, todo("private-alice", "a", "secret"))
        await wait_until(lambda: sub.state is not None and sub.state["text"] == "secret")


async def test_a_bad_token_is_refused_at_connect_as_locally(cloud: CloudServer) -> None:
    client = StreamClient(cloud.ws_url, auth_token="stolen", backoff=Backoff(initial=0.01, maximum=0.01))
    with pytest.raises(StreamAuthError, match="refused"):
        await client.connect(timeout=30)
    assert client.status is ConnectionStatus.FAILED
    await client.close()


async def test_a_refused_join_fails_the_subscription_and_keeps_the_connection(cloud: CloudServer) -> None:
    async with StreamClient(cloud.ws_url) as client:  # anonymous: private groups are refused
        refused = client.subscribe_group("todo", "private-bob")
        with pytest.raises(StreamSubscriptionError):
            await refused.ready(30)
        allowed = await client.subscribe_group("todo", "public-bob").ready(30)
        assert allowed == []
        assert client.status is ConnectionStatus.OPEN


async def test_the_python_client_reconnects_after_a_restart_and_resyncs(cloud: CloudServer) -> None:
    """Last in the module: it restarts the module's server (SIGINT, then the same ports)."""
    client = StreamClient(cloud.ws_url, backoff=FAST)
    statuses: list[ConnectionStatus] = []
    client.on_status(statuses.append)
    try:
        await client.connect(timeout=30)
        listing = client.subscribe_group("todo", "restart")
        await ops(cloud.http_url, todo("restart", "a", "a"), todo("restart", "b", "b"))
        await wait_until(lambda: len(listing.state) == 2)

        assert cloud.stop() == 0  # SIGINT: a clean stop
        await client.wait_for_status(ConnectionStatus.RECONNECTING, timeout=10)
        cloud.start()  # the same ports; moto's state starts empty, as a new stack would
        await client.wait_for_status(ConnectionStatus.OPEN, timeout=60)
        await wait_until(lambda: listing.state == [])  # the rejoin's sync replaced what was held
        await ops(cloud.http_url, todo("restart", "c", "after restart"))
        await wait_until(lambda: [i["id"] for i in listing.state] == ["c"])
        assert statuses[:3] == [ConnectionStatus.OPEN, ConnectionStatus.RECONNECTING, ConnectionStatus.OPEN]
    finally:
        await client.close()

"""Credentials: Motia's header, a refused handshake raised as StreamAuthError, no retry loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
import websockets
from websockets.typing import Subprotocol

from motia_runtime.client import Backoff, ConnectionStatus, StreamClient
from motia_runtime.errors import StreamAuthError, StreamConnectionError, StreamSubscriptionError
from tests.client.project import GOOD_TOKEN, ops, todo
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow


async def test_a_good_token_is_sent_as_motia_does_and_opens_private_groups(server: InProcessServer) -> None:
    async with StreamClient(server.ws_url, auth_token=GOOD_TOKEN) as client:
        sub = client.subscribe_item("todo", "private-alice", "a")
        await sub.ready(5)
        await ops(server.url, todo("private-alice", "a", "secret"))
        async for state in sub:
            if state is not None:
                assert state["text"] == "secret"
                break


async def test_a_bad_token_is_refused_with_a_clear_error(server: InProcessServer) -> None:
    client = StreamClient(server.ws_url, auth_token="stolen", backoff=Backoff(initial=0.01, maximum=0.01))
    with pytest.raises(StreamAuthError, match="refused"):
        await client.connect(timeout=5)
    assert client.status is ConnectionStatus.FAILED
    assert client.connections == 0
    # Subscriptions of a failed client fail at once with the same error.
    sub = client.subscribe_group("todo", "g")
    with pytest.raises(StreamAuthError):
        await sub.ready(1)
    await client.close()


async def test_a_subscription_without_connect_fails_instead_of_retrying(server: InProcessServer) -> None:
    client = StreamClient(server.ws_url, auth_token="stolen", backoff=Backoff(initial=0.01, maximum=0.01))
    attempts: list[ConnectionStatus] = []
    client.on_status(attempts.append)
    sub = client.subscribe_item("todo", "g", "a")
    with pytest.raises(StreamAuthError):
        async for _ in sub:
            pass
    await asyncio.sleep(0.1)
    assert attempts == [ConnectionStatus.FAILED]  # one attempt, no reconnect loop
    assert isinstance(sub.error, StreamAuthError) and sub.status == "failed"
    await client.close()


async def test_the_server_refuses_the_handshake_itself(server: InProcessServer) -> None:
    """What the client turns into StreamAuthError: the local host refuses the upgrade."""
    with pytest.raises(websockets.InvalidStatus) as caught:
        await websockets.connect(server.ws_url, subprotocols=["Authorization", "stolen"])  # type: ignore[list-item]
    assert caught.value.response.status_code in (401, 403)


async def test_unreachable_server_raises_on_connect() -> None:
    client = StreamClient("ws://127.0.0.1:9", backoff=Backoff(initial=0.01))
    with pytest.raises(StreamConnectionError) as caught:
        await client.connect(timeout=5)
    assert not isinstance(caught.value, StreamAuthError)
    assert not isinstance(caught.value, StreamSubscriptionError)
    await client.close()


async def test_motia_style_401_and_a_1008_close_are_auth_errors() -> None:
    """Motia answers a refused handshake with HTTP 401; other servers accept and close with 1008."""
    from websockets.asyncio.server import serve

    def refuse_401(connection, request):  # type: ignore[no-untyped-def]
        return connection.respond(401, "Unauthorized\n")

    async def close_1008(connection):  # type: ignore[no-untyped-def]
        await connection.close(1008, "token expired")

    async with serve(lambda c: None, "127.0.0.1", 0, process_request=refuse_401) as motia_like:
        port = motia_like.sockets[0].getsockname()[1]
        with pytest.raises(StreamAuthError, match="HTTP 401"):
            await StreamClient(f"ws://127.0.0.1:{port}", auth_token="x").connect(timeout=5)

    async with serve(close_1008, "127.0.0.1", 0) as closing:
        port = closing.sockets[0].getsockname()[1]
        client = StreamClient(f"ws://127.0.0.1:{port}", auth_token="x")
        sub = client.subscribe_group("todo", "g")
        with pytest.raises(StreamAuthError, match="1008 token expired"):
            await sub.ready(5)
        assert client.status is ConnectionStatus.FAILED and client.connections == 1
        await client.close()


async def test_a_token_function_is_called_for_every_connection(server: InProcessServer, group: str) -> None:
    """A minted stream token expires (15 min): a reconnect after that needs a fresh one."""
    from websockets.asyncio.server import ServerConnection, serve

    # Against motia dev: the function's token opens a private group (sync and async functions).
    for token_function in (lambda: GOOD_TOKEN, _async_token(GOOD_TOKEN)):
        client = StreamClient(server.ws_url, auth_token=token_function)
        try:
            await client.connect(timeout=5)
            assert await client.subscribe_item("todo", f"private-{group}", "a").ready(5) is None
        finally:
            await client.close()

    # Across a reconnect: a server that restarts (1012) after the first connection sees a new token.
    offered: list[str] = []

    async def restart_once(ws: ServerConnection) -> None:
        offered.append(ws.request.headers["Sec-WebSocket-Protocol"])  # type: ignore[union-attr]
        if len(offered) == 1:
            await ws.close(1012, "restarting")
            return
        async for raw in ws:
            join = json.loads(raw)["data"]
            await ws.send(json.dumps({"streamName": join["streamName"], "groupId": join["groupId"], "id": join["id"],
                                      "timestamp": 1, "event": {"type": "sync", "data": None}}))

    minted = iter(range(1, 100))
    async with serve(restart_once, "127.0.0.1", 0, subprotocols=[Subprotocol("Authorization")]) as fake:
        port = fake.sockets[0].getsockname()[1]
        async with StreamClient(f"ws://127.0.0.1:{port}", auth_token=lambda: f"t{next(minted)}",
                                backoff=Backoff(initial=0.01)) as client:
            sub = client.subscribe_item("todo", "g", "a")
            assert await sub.ready(5) is None
            assert client.connections == 2
    assert offered == ["Authorization, t1", "Authorization, t2"]


def _async_token(token: str) -> Callable[[], Awaitable[str]]:
    async def mint() -> str:
        await asyncio.sleep(0)
        return token
    return mint

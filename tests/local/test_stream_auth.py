"""Stream auth on the local server, over real sockets: 401 at the handshake, scopes on every join,
anonymous access only where a stream opts in, and no credential in the server's log.

The project's ``authenticate`` accepts ``user-<name>`` tokens; an API step mints stream tokens
with the secret ``motia dev`` generated in its data directory (no MOTIA_STREAM_SECRET is set).
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from motia_runtime.auth import mint_stream_token
from motia_runtime.client import StreamClient
from motia_runtime.errors import StreamAuthError
from motia_runtime.hosts.local.stream_secret import ensure_stream_secret
from tests.support.inprocess import InProcessServer
from tests.support.ws import StreamSocket

pytestmark = pytest.mark.slow

OPENAI_KEY = "sk-live-0123456789abcdefghijklmnopqrstuv"
REFUSED_TOKEN = "user-mallory-but-not-really"  # authenticate refuses it, naming it in its error
FILES = {
    "streams/orders_stream.py": '''
        config = {"name": "orders", "schema": {"type": "object"}}
    ''',
    "streams/news_stream.py": '''
        config = {"name": "news", "schema": {"type": "object"}, "public": True}
    ''',
    "streams/inbox_stream.py": '''
        def can_access(subscription, auth):
            return auth is not None and auth.get("subject") == subscription["groupId"]
        config = {"name": "inbox", "schema": {"type": "object"}, "canAccess": can_access}
    ''',
    "streams/auth.py": '''
        def authenticate(request):
            token = request["authToken"]
            if token is None:
                return None
            if token.startswith("user-") and "mallory" not in token:
                return {"subject": token.removeprefix("user-")}
            raise PermissionError(f"unknown token {token}")
    ''',
    "functions/token_step.py": '''
        import os
        from motia_runtime.auth import mint_stream_token

        config = {"type": "api", "name": "Token", "path": "/orders/:id/token", "method": "POST", "emits": []}

        async def handler(req, ctx):
            token = mint_stream_token("orders", req["pathParams"]["id"], req["queryParams"].get("item"))
            # Careless logging, on purpose: none of it may reach the log as written.
            ctx.logger.info(f"minted {token} with key {os.environ.get('OPENAI_API_KEY')}",
                            {"token": token, "headers": req["headers"], "secret": os.environ["MOTIA_STREAM_SECRET"]})
            return {"status": 200, "body": {"token": token}}
    ''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = tmp_path_factory.mktemp("auth-project")
    for rel, source in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(source))
    dev = InProcessServer(root, tmp_path_factory.mktemp("auth-data"),
                          env={"OPENAI_API_KEY": OPENAI_KEY, "MOTIA_STREAM_SECRET": None}).start()
    yield dev
    dev.stop()


def secret(server: InProcessServer) -> str:
    return (server.data_dir / "stream-secret").read_text().strip()


def token_for(server: InProcessServer, order: str, item: str | None = None) -> str:
    params = {"item": item} if item else {}
    response = httpx.post(f"{server.url}/orders/{order}/token", params=params,
                          headers={"authorization": "Bearer user-ann"}, timeout=10)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def outcomes(server: InProcessServer, token: str | None, *joins: tuple[str, str, str | None]) -> list[str]:
    """'sync' or the error code, for each join, on one connection."""
    kwargs: dict[str, Any] = {"subprotocols": ["Authorization", token]} if token else {}
    ws = await StreamSocket.connect(server.ws_url, **kwargs)
    out = []
    for stream, group, id in joins:
        await ws.join(stream, group, id)
        event = (await ws.recv())["event"]
        out.append(event["type"] if event["type"] == "sync" else event["event"]["data"]["code"])
    await ws.close()
    return out


async def test_the_dev_server_keeps_its_own_secret(server: InProcessServer) -> None:
    path = server.data_dir / "stream-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(secret(server)) >= 32


async def test_a_token_for_group_a_cannot_join_group_b(server: InProcessServer) -> None:
    token = token_for(server, "A-1")
    assert await outcomes(server, token, ("orders", "A-1", None), ("orders", "A-1", "line"), ("orders", "B-2", None),
                          ("orders", "A-10", None), ("inbox", "A-1", None)) \
        == ["sync", "sync", "STREAM_ACCESS_DENIED", "STREAM_ACCESS_DENIED", "STREAM_ACCESS_DENIED"]
    item = token_for(server, "A-1", item="line")
    assert await outcomes(server, item, ("orders", "A-1", "line"), ("orders", "A-1", None),
                          ("orders", "A-1", "other")) == ["sync", "STREAM_ACCESS_DENIED", "STREAM_ACCESS_DENIED"]
    # ?authToken= works the same way.
    ws = await StreamSocket.connect(f"{server.ws_url}/?authToken={token}")
    await ws.join("orders", "A-1")
    assert (await ws.recv())["event"]["type"] == "sync"
    await ws.close()


@pytest.mark.parametrize("kind", ["expired", "tampered", "other secret", "truncated", "refused by authenticate"])
async def test_refused_credentials_get_http_401(server: InProcessServer, kind: str) -> None:
    good = token_for(server, "A-1")
    header, payload, signature = good.split(".")
    token = {
        "expired": mint_stream_token("orders", "A-1", ttl_s=1, now=time.time() - 5, secret=secret(server)),
        "tampered": f"{header}.{mint_stream_token('orders', 'B-2', secret=secret(server)).split('.')[1]}.{signature}",
        "other secret": mint_stream_token("orders", "A-1", secret="x" * 40),
        "truncated": f"{header}.{payload}",
        "refused by authenticate": REFUSED_TOKEN,
    }[kind]
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(server.ws_url, subprotocols=["Authorization", token])  # type: ignore[list-item]
    assert refused.value.response.status_code == 401
    with pytest.raises(websockets.InvalidStatus) as by_query:
        await websockets.connect(f"{server.ws_url}/?authToken={token}")
    assert by_query.value.response.status_code == 401
    client = StreamClient(server.ws_url, auth_token=token)
    with pytest.raises(StreamAuthError, match="401"):
        await client.connect(timeout=5)
    await client.close()


@pytest.mark.parametrize("part", ["signature", "payload"])
async def test_a_token_with_a_non_ascii_character_gets_http_401(server: InProcessServer, part: str) -> None:
    # hmac.compare_digest refuses str with non-ASCII characters (TypeError): such a signature was
    # a 500 and a traceback on the socket and on SSE (and on AWS's $connect: the same code).
    header, payload, signature = token_for(server, "A-1").split(".")
    token = f"{header}.{payload}.{signature[:-1]}%C3%A9" if part == "signature" else f"{header}.%C3%A9.{signature}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{server.ws_url}/?authToken={token}")
    assert refused.value.response.status_code == 401
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{server.url}/__streams/orders/A-1?authToken={token}",
                                headers={"Accept": "text/event-stream"})
    assert answer.status_code == 401, answer.text
    assert "Exception in ASGI application" not in server.logs()


async def test_anonymous_joins_only_public_streams_and_authenticate_feeds_can_access(server: InProcessServer) -> None:
    assert await outcomes(server, None, ("news", "today", None), ("orders", "A-1", None), ("inbox", "ann", None)) \
        == ["sync", "STREAM_ACCESS_DENIED", "STREAM_ACCESS_DENIED"]
    assert await outcomes(server, "user-ann", ("inbox", "ann", None), ("inbox", "bob", None), ("orders", "A-1", None),
                          ("news", "today", None)) == ["sync", "STREAM_ACCESS_DENIED", "sync", "sync"]


async def test_logs_never_contain_tokens_or_secrets(server: InProcessServer) -> None:
    token = token_for(server, f"log-{uuid.uuid4().hex[:6]}")
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(server.ws_url, subprotocols=["Authorization", REFUSED_TOKEN])  # type: ignore[list-item]
    time.sleep(0.3)
    logs = server.logs()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    minted = next(entry for entry in lines if str(entry.get("message", "")).startswith("minted"))
    assert minted["token"] == minted["secret"] == "[REDACTED]"
    assert minted["headers"]["authorization"] == "[REDACTED]"
    assert minted["message"] == "minted [REDACTED] with key [REDACTED]"
    assert any("refused" in str(entry.get("message")) for entry in lines)  # the refusal is logged...
    for value in (token, secret(server), OPENAI_KEY, REFUSED_TOKEN, "user-ann"):
        assert value not in logs  # ...without the credential


def test_stream_secret_file_is_reused_after_a_restart(tmp_path: Path) -> None:
    saved = os.environ.pop("MOTIA_STREAM_SECRET", None)
    try:
        ensure_stream_secret(tmp_path)
        first = os.environ.pop("MOTIA_STREAM_SECRET")
        ensure_stream_secret(tmp_path)
        assert os.environ["MOTIA_STREAM_SECRET"] == first
    finally:
        os.environ.pop("MOTIA_STREAM_SECRET", None)
        if saved is not None:
            os.environ["MOTIA_STREAM_SECRET"] = saved

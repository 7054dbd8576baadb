"""Stream auth on the harness: stream tokens at $connect, anonymous opt-in, scopes on every join.

The same rules as the local host (tests/local/test_stream_auth.py), through the real $connect and
join entry points: a token for group A cannot join group B, an item token cannot join its group,
expired or altered tokens are refused with 401, and an anonymous connection may join only streams
that are ``public``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from motia_runtime.auth import mint_stream_token
from motia_runtime.testing import CloudSim

SECRET = "aws-test-secret-0123456789abcdefghijklmnop"
FILES = {
    "streams/auth_case_private_stream.py": '''
        config = {"name": "orders", "schema": {"type": "object"}}
    ''',
    "streams/auth_case_public_stream.py": '''
        config = {"name": "news", "schema": {"type": "object"}, "public": True}
    ''',
    "functions/auth_case/token_step.py": '''
        from motia_runtime.auth import mint_stream_token
        config = {"type": "api", "name": "Token", "path": "/orders/:id/token", "method": "POST", "emits": []}
        async def handler(req, ctx):
            # An API step decides who may watch an order, then hands the browser a token for it.
            return {"status": 200, "body": {"token": mint_stream_token("orders", req["pathParams"]["id"])}}
    ''',
}


@pytest.fixture
def sim(make_project: Callable[[str, dict[str, str]], Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudSim]:
    monkeypatch.setenv("MOTIA_STREAM_SECRET", SECRET)  # what the tests mint with; the functions get the parameter
    with CloudSim(make_project("auth", FILES), parameters={"StreamSecret": SECRET}) as sim:
        yield sim


def errors(sim: CloudSim, token: str, *joins: tuple[str, str, str | None]) -> list[str | None]:
    """For each join: None when it synced, else the error code."""
    client = sim.connect(token)
    assert client.accepted
    out: list[str | None] = []
    for stream, group, id in joins:
        before = len(client.frames)
        client.join(stream, group, id)
        frame = client.frames[before]
        out.append(None if frame["event"]["type"] == "sync" else frame["event"]["event"]["data"]["code"])
    return out


def test_a_token_from_an_api_step_joins_its_group_and_nothing_else(sim: CloudSim) -> None:
    token = sim.http("POST", "/orders/A-1/token").json()["token"]
    assert errors(sim, token, ("orders", "A-1", None), ("orders", "A-1", "line-1"), ("orders", "B-2", None),
                  ("news", "A-1", None)) == [None, None, "STREAM_ACCESS_DENIED", "STREAM_ACCESS_DENIED"]
    by_query = sim.connect(query={"authToken": token})
    by_query.join("orders", "A-1")
    assert by_query.frames[-1]["event"]["type"] == "sync"


def test_an_item_token_joins_only_that_item(sim: CloudSim) -> None:
    token = mint_stream_token("orders", "A-1", "line-1")
    assert errors(sim, token, ("orders", "A-1", "line-1"), ("orders", "A-1", None), ("orders", "A-1", "line-2")) \
        == [None, "STREAM_ACCESS_DENIED", "STREAM_ACCESS_DENIED"]


def test_expired_altered_and_foreign_tokens_are_refused_at_connect(sim: CloudSim) -> None:
    expired = mint_stream_token("orders", "A-1", ttl_s=60, now=time.time() - 120)
    good = mint_stream_token("orders", "A-1")
    header, payload, signature = good.split(".")
    forged_payload = mint_stream_token("orders", "B-2").split(".")[1]
    foreign = mint_stream_token("orders", "A-1", secret="another-secret-0123456789abcdefghijkl")
    for token in (expired, f"{header}.{forged_payload}.{signature}", f"{header}.{payload}.{signature[:-2]}AA",
                  foreign, f"{header}.{payload}"):
        client = sim.connect(token)
        assert (client.accepted, client.status_code) == (False, 401), token
    assert sim.connect(good).accepted


def test_anonymous_connections_join_public_streams_only(sim: CloudSim) -> None:
    anonymous = sim.connect()
    anonymous.join("news", "today")
    anonymous.join("orders", "A-1")
    assert [f["event"]["type"] for f in anonymous.frames] == ["sync", "event"]
    denied = anonymous.errors()[0]
    assert denied["code"] == "STREAM_ACCESS_DENIED" and "not public" in denied["message"]


def test_without_a_secret_tokens_are_refused(make_project: Callable[[str, dict[str, str]], Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTIA_STREAM_SECRET", SECRET)
    token = mint_stream_token("orders", "A-1")
    with CloudSim(make_project("auth_off", FILES)) as sim:  # the template's default: no secret
        assert sim.connect(token).status_code == 401
        assert sim.http("POST", "/orders/A-1/token").status == 500  # minting needs the secret
        assert sim.connect().accepted

"""Stream tokens and the join rules, in process (the hosts' tests drive them over sockets)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motia_runtime import AuthContext, StreamConfig, mint_stream_token
from motia_runtime.auth import admit, auth_request, authorize_join, verify_stream_token
from motia_runtime.errors import ConfigError, MotiaError, StreamAuthError, StreamTokenError
from motia_runtime.protocol import Subscription

SECRET = "unit-test-secret-0123456789abcdefghijklmnop"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTIA_STREAM_SECRET", SECRET)


def sub(stream: str = "orders", group: str = "A", id: str | None = None) -> Subscription:
    return Subscription(stream, group, id, "s1")


def test_a_token_is_a_compact_url_safe_jwt_with_its_scope() -> None:
    token = mint_stream_token("orders", "A", "line-1", ttl_s=60, subject="ann", now=1_000_000)
    assert all(c.isalnum() or c in "-_." for c in token) and len(token) < 300
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims == {"stream": "orders", "groupId": "A", "id": "line-1", "sub": "ann", "iat": 1_000_000,
                      "exp": 1_000_060}
    # Standard HS256: any JWT library with the secret can check it.
    expected = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    context = verify_stream_token(token, now=1_000_059)
    assert context == {"grants": [{"stream": "orders", "groupId": "A", "id": "line-1"}], "expiresAt": 1_000_060,
                       "via": "stream-token", "subject": "ann"}
    with pytest.raises(StreamTokenError, match="expired"):
        verify_stream_token(token, now=1_000_060)


def test_rotation_verifies_with_any_secret_and_mints_with_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    old = mint_stream_token("orders", "A")
    monkeypatch.setenv("MOTIA_STREAM_SECRET", f"new-secret-0123456789abcdefghijklmnopqr,{SECRET}")
    assert verify_stream_token(old)["grants"][0]["groupId"] == "A"
    new = mint_stream_token("orders", "A")
    monkeypatch.setenv("MOTIA_STREAM_SECRET", SECRET)
    with pytest.raises(StreamTokenError, match="signature"):
        verify_stream_token(new)


def test_secrets_and_arguments_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTIA_STREAM_SECRET", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        mint_stream_token("orders", "A")
    monkeypatch.delenv("MOTIA_STREAM_SECRET")
    with pytest.raises(ConfigError, match="not set"):
        mint_stream_token("orders", "A")
    with pytest.raises(StreamTokenError, match="not enabled"):
        verify_stream_token(mint_stream_token("orders", "A", secret=SECRET))
    for bad in ({"stream": ""}, {"group_id": None}, {"id": ""}, {"ttl_s": 0}, {"ttl_s": 90_000}):
        with pytest.raises(ValueError):
            mint_stream_token(**{"stream": "orders", "group_id": "A", "secret": SECRET, **bad})  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), char=st.sampled_from("AQgw-_x0"))
def test_any_one_character_changed_is_refused(position: int, char: str) -> None:
    token = mint_stream_token("orders", "A", secret=SECRET)
    i = position % len(token)
    if token[i] == char or token[i] == ".":
        return
    forged = token[:i] + char + token[i + 1:]
    try:
        context = verify_stream_token(forged, secret=SECRET)
    except StreamTokenError:
        return
    # Base64 padding bits can change without changing the bytes: then the grant is the same.
    assert context["grants"] == [{"stream": "orders", "groupId": "A"}]


@settings(max_examples=200, deadline=None)
@given(group=st.text(min_size=1, max_size=30), other=st.text(min_size=1, max_size=30),
       item=st.none() | st.text(min_size=1, max_size=10))
async def test_a_token_for_one_group_never_joins_another(group: str, other: str, item: str | None) -> None:
    config = StreamConfig(name="orders", schema={"type": "object"})
    context = verify_stream_token(mint_stream_token("orders", group, item, secret=SECRET), secret=SECRET)
    allowed = await authorize_join(config, sub("orders", other, item), context)
    assert (allowed is None) == (other == group)
    if item is not None:
        assert await authorize_join(config, sub("orders", group, None), context) is not None


async def test_join_rules() -> None:
    private = StreamConfig(name="orders", schema={"type": "object"})
    public = StreamConfig(name="news", schema={"type": "object"}, public=True)
    calls: list[tuple[Any, Any]] = []

    def can_access(subscription: dict[str, Any], auth: AuthContext | None) -> bool:
        calls.append((subscription, auth))
        return subscription["groupId"] == "mine"

    guarded = StreamConfig(name="inbox", schema={"type": "object"}, public=True, can_access=can_access)
    user: AuthContext = {"subject": "ann"}
    assert await authorize_join(private, sub("orders"), None) is not None  # anonymous: opt-in only
    assert await authorize_join(public, sub("news"), None) is None
    assert await authorize_join(private, sub("orders"), user) is None  # authenticated, no can_access
    assert await authorize_join(guarded, sub("inbox", "mine"), None) is None
    assert await authorize_join(guarded, sub("inbox", "yours"), user) == "Access denied"
    assert calls == [({"groupId": "mine", "id": None}, None), ({"groupId": "yours", "id": None}, user)]
    expired: AuthContext = {"subject": "ann", "expiresAt": int(time.time()) - 1}
    assert "expired" in (await authorize_join(private, sub("orders"), expired) or "")

    def broken(subscription: dict[str, Any], auth: Any) -> bool:
        raise RuntimeError("db down")

    errors: list[str] = []
    failing = StreamConfig(name="x", schema={"type": "object"}, public=True, can_access=broken)
    assert await authorize_join(failing, sub("x"), None, on_error=errors.append) == "Access denied"
    assert "db down" in errors[0]


async def test_admit_tokens_authenticate_and_refusals() -> None:
    token = mint_stream_token("orders", "A")
    request = auth_request({"sec-websocket-protocol": f"Authorization, {token}"}, "ws://x/", {})
    assert request["authToken"] == token
    assert (await admit(None, request))["grants"] == [{"stream": "orders", "groupId": "A"}]  # type: ignore[index]
    assert auth_request({}, "ws://x/?authToken=t", {"authToken": "t"})["authToken"] == "t"

    async def authenticate(req: dict[str, Any]) -> dict[str, Any] | None:
        if req["authToken"] == "user-ann":
            return {"subject": "ann"}
        if req["authToken"] is None:
            return None
        raise PermissionError(f"bad token {req['authToken']}")

    def call(token: str | None) -> Any:
        return admit(authenticate, {"headers": {}, "url": "", "authToken": token})

    assert await call("user-ann") == {"subject": "ann"}
    assert await call(None) is None
    with pytest.raises(StreamAuthError) as refused:
        await call("s3cr3t-value")
    assert "s3cr3t-value" not in str(refused.value) and "[REDACTED]" in str(refused.value)
    with pytest.raises(StreamTokenError):  # a forged stream token never reaches authenticate
        await call(token[:-3] + "abc")
    assert await admit(None, {"headers": {}, "url": "", "authToken": "not-ours"}) is None  # no authenticate

    with pytest.raises(MotiaError, match="must return a dict"):
        await admit(lambda req: "ann", {"headers": {}, "url": "", "authToken": None})
    with pytest.raises(MotiaError, match="JSON"):
        await admit(lambda req: {"when": object()}, {"headers": {}, "url": "", "authToken": None})

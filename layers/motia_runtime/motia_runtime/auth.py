"""Stream auth, shared by both hosts: who a WebSocket connection is, and what it may join.

1. **At connect** (:func:`admit`): the token comes from ``Sec-WebSocket-Protocol:
   Authorization, <token>`` (Motia's browser client) or ``?authToken=<token>``. A stream token
   minted by :func:`mint_stream_token` is checked here, without the project's code; any other
   request goes to the project's ``streams/auth.py`` ``authenticate(request)``, which returns
   an auth context (a dict), None for an anonymous connection, or raises to refuse (HTTP 401).
2. **On every join** (:func:`authorize_join`): a context with ``grants`` (every stream token
   has them) may join exactly what they name; an anonymous connection may join only streams
   that opt in with ``StreamConfig(public=True)``; then the stream's ``can_access(subscription,
   auth_context)`` decides, if it has one.

Stream tokens are JWTs (HS256, so any JWT library can read them) signed with
``MOTIA_STREAM_SECRET``; a comma-separated list verifies with any of them and mints with the
first, which is how a secret is rotated. See docs/auth.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, NotRequired, TypedDict

import pydantic

from .config import StreamConfig
from .errors import ConfigError, MotiaError, StreamAuthError, StreamTokenError
from .protocol import Subscription

ENV_SECRET = "MOTIA_STREAM_SECRET"
DEFAULT_TTL_S = 15 * 60
MAX_TTL_S = 24 * 3600  # a stream token is a short-lived capability, not a session
MIN_SECRET_CHARS = 32  # HS256 wants a key of at least the hash's 256 bits
# A fixed header: a token whose header differs (another alg, "none") is not ours, whatever it says.
_HEADER = base64.urlsafe_b64encode(
    json.dumps({"alg": "HS256", "typ": "JWT", "kid": "motia-stream"}, separators=(",", ":")).encode()
).rstrip(b"=").decode()


class StreamGrant(TypedDict):
    """One thing a context may join: a group of a stream, or one item of it."""

    stream: str
    groupId: str
    id: NotRequired[str]


class AuthContext(TypedDict, total=False):
    """What a connection is, as ``can_access`` and steps see it.

    ``authenticate`` may return any JSON object; these keys have a meaning to the runtime:
    ``subject`` (who), ``grants`` (when present, the only subscriptions allowed) and
    ``expiresAt`` (epoch seconds; no join is allowed after it). Other keys are the project's.
    """

    subject: str
    grants: list[StreamGrant]
    expiresAt: int
    via: str


class AuthRequest(TypedDict):
    """What ``authenticate(request)`` gets, on both hosts (Motia's ``{headers, url}`` plus the token)."""

    headers: dict[str, str]
    url: str
    authToken: str | None


Authenticate = Callable[[AuthRequest], Any]


# -- the request --------------------------------------------------------------------------------
def offered_subprotocols(header: str | None) -> list[str]:
    return [p.strip() for p in (header or "").split(",") if p.strip()]


def auth_request(headers: Mapping[str, str], url: str, query: Mapping[str, str]) -> AuthRequest:
    """The request ``authenticate`` gets; ``headers`` keys are lower case."""
    protocols = offered_subprotocols(headers.get("sec-websocket-protocol"))
    token = protocols[1] if len(protocols) >= 2 and protocols[0].lower() == "authorization" else None
    return {"headers": dict(headers), "url": url, "authToken": token or query.get("authToken") or None}


# -- tokens -------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def stream_secrets(value: str | None = None) -> list[bytes]:
    """The configured secrets (``MOTIA_STREAM_SECRET``, comma-separated), first one mints."""
    raw = os.environ.get(ENV_SECRET, "") if value is None else value
    secrets = [s.strip() for s in raw.split(",") if s.strip()]
    if not secrets:
        raise ConfigError(f"{ENV_SECRET} is not set: stream tokens cannot be minted or checked")
    short = [s for s in secrets if len(s) < MIN_SECRET_CHARS]
    if short:
        raise ConfigError(f"{ENV_SECRET} must be at least {MIN_SECRET_CHARS} characters (use e.g. "
                          "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return [s.encode() for s in secrets]


def _sign(secret: bytes, signing_input: str) -> str:
    return _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def mint_stream_token(stream: str, group_id: str, id: str | None = None, *, ttl_s: int = DEFAULT_TTL_S,
                      subject: str | None = None, secret: str | None = None, now: float | None = None) -> str:
    """A token that lets a browser join ``stream``/``group_id`` (only item ``id`` when given)
    for ``ttl_s`` seconds (default 15 min, at most 24 h). Compact and URL-safe: pass it as
    Motia's clients do (``protocols: ['Authorization', token]``) or as ``?authToken=``."""
    for name, value in (("stream", stream), ("group_id", group_id)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"mint_stream_token: {name} must be a non-empty string")
    if id is not None and (not isinstance(id, str) or not id):
        raise ValueError("mint_stream_token: id must be a non-empty string or None")
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"mint_stream_token: ttl_s must be between 1 and {MAX_TTL_S} seconds")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"stream": stream, "groupId": group_id, "iat": issued, "exp": issued + ttl_s}
    if id is not None:
        claims["id"] = id
    if subject is not None:
        claims["sub"] = subject
    payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{_HEADER}.{payload}"
    return f"{signing_input}.{_sign(stream_secrets(secret)[0], signing_input)}"


def is_stream_token(token: str) -> bool:
    """Whether ``token`` claims to be one of ours (its header); it may still be invalid."""
    return token.startswith(_HEADER + ".")


def verify_stream_token(token: str, *, secret: str | None = None, now: float | None = None) -> AuthContext:
    """The auth context of a valid stream token; raises StreamTokenError otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _HEADER:
        raise StreamTokenError("not a stream token")
    try:
        secrets = stream_secrets(secret)
    except ConfigError as exc:
        raise StreamTokenError(f"stream tokens are not enabled on this server: {exc}") from None
    signing_input = f"{parts[0]}.{parts[1]}"
    # compare_digest: the time taken must not tell how much of a forged signature was right. It
    # raises TypeError for a str with a non-ASCII character, which no signature of ours has.
    if not parts[2].isascii() or not any(hmac.compare_digest(_sign(s, signing_input), parts[2]) for s in secrets):
        raise StreamTokenError("stream token signature does not match (altered, or signed with another secret)")
    try:
        claims = json.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError) as exc:
        raise StreamTokenError(f"stream token payload is unreadable: {type(exc).__name__}") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int) \
            or not isinstance(claims.get("stream"), str) or not isinstance(claims.get("groupId"), str):
        raise StreamTokenError("stream token payload lacks stream, groupId or exp")
    if claims["exp"] <= (time.time() if now is None else now):
        raise StreamTokenError("stream token has expired")
    grant: StreamGrant = {"stream": claims["stream"], "groupId": claims["groupId"]}
    if isinstance(claims.get("id"), str):
        grant["id"] = claims["id"]
    context: AuthContext = {"grants": [grant], "expiresAt": claims["exp"], "via": "stream-token"}
    if isinstance(claims.get("sub"), str):
        context["subject"] = claims["sub"]
    return context


# -- connect ------------------------------------------------------------------------------------
async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "[REDACTED]") if token else text


def _as_context(value: Any) -> AuthContext | None:
    if value is None:
        return None
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if not isinstance(value, Mapping):
        raise MotiaError(f"authenticate() must return a dict (the auth context) or None, not {type(value).__name__}")
    try:
        # Stored as JSON with the connection on AWS: refuse here what could not be stored there.
        context: AuthContext = json.loads(json.dumps(dict(value)))
        return context
    except (TypeError, ValueError) as exc:
        raise MotiaError(f"the auth context returned by authenticate() is not JSON-serialisable: {exc}") from None


async def admit(authenticate: Authenticate | None, request: AuthRequest) -> AuthContext | None:
    """The connection's auth context (None: anonymous). Raises StreamAuthError to refuse it
    (hosts answer HTTP 401), and MotiaError when ``authenticate`` itself is broken."""
    token = request["authToken"]
    if token is not None and is_stream_token(token):
        return verify_stream_token(token)
    if authenticate is not None:
        try:
            value = await _maybe_await(authenticate(request))
        except Exception as exc:
            raise StreamAuthError(_scrub(f"authenticate() refused the connection: {type(exc).__name__}: {exc}",
                                         token)) from None
        return _as_context(value)
    # Without authenticate() another kind of token means nothing here (as in Motia): the
    # connection is anonymous, which grants no more than sending no token at all.
    return None


# -- join ---------------------------------------------------------------------------------------
ACCESS_DENIED = "Access denied"


def _covers(grant: Any, sub: Subscription) -> bool:
    if not isinstance(grant, Mapping):
        return False
    if grant.get("stream") != sub.stream_name or grant.get("groupId") != sub.group_id:
        return False
    # An item grant covers that item only; a group grant covers the group and its items.
    return "id" not in grant or grant["id"] == sub.id


async def authorize_join(config: StreamConfig, sub: Subscription, auth: AuthContext | Mapping[str, Any] | None,
                         *, now: float | None = None,
                         on_error: Callable[[str], None] | None = None) -> str | None:
    """None when ``auth`` may join ``sub``, else the message of the STREAM_ACCESS_DENIED frame.

    ``on_error`` is told when ``can_access`` raised (which refuses the join)."""
    if auth is not None:
        expires = auth.get("expiresAt")
        if isinstance(expires, int) and expires <= (time.time() if now is None else now):
            return f"{ACCESS_DENIED}: the connection's credentials have expired; reconnect with a new token"
        if "grants" in auth:
            grants = auth["grants"]
            if not isinstance(grants, list) or not any(_covers(g, sub) for g in grants):
                return f"{ACCESS_DENIED}: the token does not cover this subscription"
            # A grant is the server's own decision, made when the token was minted.
            return None
    elif not config.public:
        return f"{ACCESS_DENIED}: stream {config.name!r} is not public and this connection is anonymous"
    if config.can_access is None:
        return None
    try:
        allowed = await _maybe_await(config.can_access({"groupId": sub.group_id, "id": sub.id}, auth))
    except Exception as exc:
        if on_error is not None:
            on_error(f"can_access of stream {config.name!r} raised {type(exc).__name__}: {exc}")
        allowed = False
    return None if allowed else ACCESS_DENIED


"""Stream configuration models: ``StreamConfig`` and what a stream may enable (client events,
presence, a custom store). Re-exported by ``motia_runtime.config`` with the step models."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import pydantic
from pydantic import Field, field_validator, model_validator

from .config import _Model, _raise_config_error, _schema

if TYPE_CHECKING:
    from .config import SchemaSpec
from .errors import ConfigError
from .schema import Schema


class StreamBaseConfig(_Model):
    storage_type: Literal["default", "custom"] = "default"
    factory: Callable[[], Any] | None = None

    @model_validator(mode="after")
    def _factory(self) -> StreamBaseConfig:
        if self.storage_type == "custom" and self.factory is None:
            raise ValueError("storageType 'custom' needs a factory")
        return self


class ClientEvents(_Model):
    """What a stream accepts from its clients (``{"type": "event", ...}`` frames): typing
    indicators, reactions. Off unless a stream sets ``client_events``.

    ``types`` limits the event types (None: any); ``schema`` validates each event's ``data``;
    ``can_send(event, subscription, auth_context)`` (sync or async) may refuse one; a connection
    may send ``rate_per_s`` events per second on average, in bursts of ``burst``. The event
    reaches the group's subscribers (or the item's) as a custom event, and stream triggers on
    ``event``, like one a step sends.
    """

    types: list[str] | None = None
    schema_: Schema | None = Field(None, alias="schema")
    can_send: Callable[..., Any] | None = None
    rate_per_s: float = Field(10, gt=0, le=1000)
    burst: int = Field(20, ge=1, le=10_000)

    @field_validator("schema_", mode="before")
    @classmethod
    def _schema(cls, value: Any) -> Any:
        return _schema(value)

    if TYPE_CHECKING:  # ``schema`` takes what a stream's does (a pydantic type or a JSON Schema dict)
        def __init__(self, *, types: list[str] | None = None, schema: SchemaSpec | None = None,
                     can_send: Callable[..., Any] | None = None, rate_per_s: float = 10,
                     burst: int = 20) -> None: ...


class Presence(_Model):
    """Who is joined to each group of a stream, kept by the server and pushed to the group.

    A client may give a small ``state`` with its join (``data.presence``), validated by
    ``schema``; its identity is the auth context's ``identity_key`` (default ``userId``) or,
    anonymous, its subscription id. Subscribers get ``presence.join`` / ``presence.leave`` custom
    events, and a joining client first a ``presence.sync`` event with everyone present.
    """

    schema_: Schema | None = Field(None, alias="schema")
    identity_key: str = "userId"

    @field_validator("schema_", mode="before")
    @classmethod
    def _schema(cls, value: Any) -> Any:
        return _schema(value)

    if TYPE_CHECKING:
        def __init__(self, *, schema: SchemaSpec | None = None, identity_key: str = "userId") -> None: ...


class StreamHistory(_Model):
    """How long, and how much of, a stream's sent events each group keeps in the store, so a
    client rejoining with ``since`` after a restart or a cold start gets what it missed, and a
    step can read them (``ctx.streams.<name>.history(group, since)``).

    ``window_s``: seconds an event is kept (None: ``MOTIA_STREAM_REPLAY_S``, default 300; 0 keeps
    nothing, so every ``since`` gets a ``resync``). ``max_events``: the most a group keeps; past
    it the oldest go, and a ``since`` before them gets a ``resync``. Events are at most 127 KB
    each, so a group holds at most ``max_events`` x 127 KB (1,000 x 127 KB by default).
    """

    window_s: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    max_events: int = Field(default=1000, ge=1, le=100_000)


class StreamConfig(_Model):
    """A named stream: ``ctx.streams.<name>`` with items validated against ``schema``.

    Subscribing needs credentials unless ``public`` is True: an anonymous WebSocket connection
    (no token, or ``authenticate`` returned None) may join only public streams. ``can_access
    (subscription, auth_context)`` then runs on every join, anonymous or not (see auth.py).
    """

    name: str
    schema_: Schema = Field(alias="schema")
    base_config: StreamBaseConfig = StreamBaseConfig()
    can_access: Callable[..., Any] | None = None
    #: ``on_join(subscription, auth_context, ctx)``: runs before a join is taken (after
    #: ``can_access``); returning False or ``{"unauthorized": True, "reason"?}`` refuses it, and it
    #: may write (a viewer count). ``on_leave(subscription, auth_context, ctx)`` runs once per
    #: subscription that goes (leave, close, AWS ``$disconnect`` and 410 cleanup). See stream_hooks.py.
    on_join: Callable[..., Any] | None = None
    on_leave: Callable[..., Any] | None = None
    #: Events clients may send to the stream's groups; None (the default) refuses them all.
    client_events: ClientEvents | None = None
    #: Keep and push who is joined to each group (see Presence); None: no presence.
    presence: Presence | None = None
    #: How long and how many sent events each group keeps for ``since`` and ``history()``.
    history: StreamHistory = StreamHistory()
    public: bool = False
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("must be a Python identifier (it becomes ctx.streams.<name>)")
        return value

    @field_validator("schema_", mode="before")
    @classmethod
    def _schema(cls, value: Any) -> Any:
        schema = _schema(value)
        if schema is None:
            raise ValueError("a stream needs a schema")
        kind = _item_kind(schema)
        if kind is not None:
            raise ValueError(f"a stream's items are objects (each gets an id and __motia): give a pydantic model "
                             f"or a JSON Schema of type 'object' (this one is of type {kind})")
        return schema

    if TYPE_CHECKING:
        def __init__(self, *, name: str, schema: SchemaSpec, base_config: StreamBaseConfig | Mapping[str, Any] = ...,
                     can_access: Callable[..., Any] | None = None, on_join: Callable[..., Any] | None = None,
                     on_leave: Callable[..., Any] | None = None,
                     client_events: ClientEvents | Mapping[str, Any] | None = None,
                     presence: Presence | Mapping[str, Any] | None = None,
                     history: StreamHistory | Mapping[str, Any] = ..., public: bool = False,
                     description: str | None = None) -> None: ...


def _item_kind(schema: Schema) -> str | None:
    """The JSON type a stream schema gives its items when it cannot be an object (``str``,
    ``list[Pet]``), else None. Such a stream loaded, and every ``set`` then failed at run time."""
    spec = schema.spec
    if isinstance(spec, type) and issubclass(spec, pydantic.BaseModel) and not issubclass(spec, pydantic.RootModel):
        return None  # the usual case, told without building its JSON Schema (cold starts build streams)
    try:
        kind = spec.get("type") if isinstance(spec, dict) else schema.json_schema().get("type")
    except Exception:  # a type pydantic validates but cannot describe: left to the check at run time
        return None
    kinds = kind if isinstance(kind, list) else [kind]
    if kind is None or "object" in kinds:  # no type (anyOf, $ref) or an object: it may be one
        return None
    return " or ".join(repr(k) for k in kinds)


def parse_stream_config(raw: Any, file: str) -> StreamConfig:
    if isinstance(raw, StreamConfig):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a dict or a StreamConfig, not {type(raw).__name__}", file=file)
    try:
        return StreamConfig.model_validate(raw)
    except pydantic.ValidationError as exc:
        _raise_config_error(exc, file)

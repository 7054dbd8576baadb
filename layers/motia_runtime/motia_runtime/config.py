"""Step and stream configuration models.

Each model accepts the Python spelling (``body_schema``) and Motia's camelCase spelling
(``bodySchema``), so a step file can hold a typed ``ApiRouteConfig(...)`` or the plain dict a
Motia Python step has. Unknown keys are refused: a typo must not be silently ignored.

This module holds what every step config shares (sizing, retries, emits, the base model) and
``parse_step_config``. Each step type's model lives in a module of its own (``api_config``,
``event_config``, ``cron_config``, ``noop_config``, ``trigger_config``; streams in
``stream_config``) and is created on first use: importing ``ApiRouteConfig`` from here, or parsing
a config of that type, imports its module. So a Lambda function creates the model classes of its
own step type only (a pydantic model class costs some 100-300 us to create, validator or not:
bench/optimisations.md); ``motia dev``, ``check`` and ``generate`` create them all.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeAlias, TypeGuard, overload

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from .errors import ConfigError
from .schema import Schema

if TYPE_CHECKING:
    from .api_config import ApiRouteConfig, QueryParam
    from .cron_config import CronConfig
    from .event_config import EventConfig
    from .noop_config import NoopConfig
    from .trigger_config import StateTriggerConfig, StreamTriggerConfig

# What the typed constructors accept (pydantic converts each on validation): the fields are
# stored as Schema / Emit / Infrastructure, but a step writes the model class, a JSON Schema
# dict, a topic string or a plain dict. The ``__init__`` signatures of the step models (seen only
# by type checkers) say so, since pydantic's synthesized one would demand the stored types.
SchemaSpec: TypeAlias = Any  # a pydantic model or type (list[Pet]), a JSON Schema dict, or a Schema
EmitSpec: TypeAlias = "str | Emit | Mapping[str, Any]"
InfraSpec: TypeAlias = "Infrastructure | Mapping[str, Any]"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]*$")


class _Model(BaseModel):
    # defer_build: a model's validator is built when it is first used, not when this module is
    # imported, so a Lambda function builds those of its own step type and of streams only.
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        arbitrary_types_allowed=True,
        frozen=True,
        defer_build=True,
    )


class HandlerInfra(_Model):
    """Lambda sizing; Motia's ``infrastructure.handler``."""

    ram: int = Field(1024, ge=128, le=10240, description="MB, Lambda MemorySize")
    timeout: int = Field(30, ge=1, le=900, description="seconds, Lambda Timeout")
    cpu: float | None = None


# The longest retry delay (both hosts), and SQS's longest visibility timeout.
MAX_BACKOFF_MS = 5 * 60 * 1000
MAX_VISIBILITY_S = 12 * 3600
LAMBDA_VISIBILITY_FACTOR = 6


class QueueInfra(_Model):
    """Delivery settings for an event step; Motia's ``infrastructure.queue``.

    ``max_retries`` counts retries after the first attempt: a message is tried
    ``max_retries + 1`` times, then dead-lettered (SQS ``maxReceiveCount = max_retries + 1``).
    """

    type: Literal["standard", "fifo"] = "standard"
    max_retries: int = Field(3, ge=0, le=100)
    visibility_timeout: int = Field(900, ge=0, le=43200)
    delay_seconds: int = Field(0, ge=0, le=900)
    concurrency: int | None = Field(None, ge=1, le=1000)
    backoff_type: Literal["fixed", "exponential"] = "exponential"
    backoff_delay_ms: int = Field(1000, ge=0, le=900_000)

    def retry_delay_ms(self, attempts: int) -> int:
        """How long a message waits after its ``attempts``-th failed try (1 = the first), on both
        hosts: ``backoffDelayMs`` each time (fixed) or doubled per attempt (exponential), at most
        ``MAX_BACKOFF_MS``."""
        if self.backoff_type == "fixed":
            return min(self.backoff_delay_ms, MAX_BACKOFF_MS)
        return min(self.backoff_delay_ms << max(attempts - 1, 0), MAX_BACKOFF_MS)  # x 2**(attempts-1), an int

    def lambda_visibility_timeout(self, handler_timeout: int) -> int:
        """The SQS queue's visibility timeout on AWS: the step's own ``visibilityTimeout`` when it
        sets one, else 6 times the handler timeout, as AWS advises for a Lambda event source (the
        poller's batching and retries fit in it). It only matters when a run dies without reporting
        (a timeout, a crash): a failure the function reports sets the message's own retry delay."""
        if "visibility_timeout" in self.model_fields_set:
            return self.visibility_timeout
        return min(handler_timeout * LAMBDA_VISIBILITY_FACTOR, MAX_VISIBILITY_S)


class Infrastructure(_Model):
    handler: HandlerInfra = HandlerInfra()
    queue: QueueInfra = QueueInfra()


class Emit(_Model):
    """One declared emit: a topic, with the label and flag Motia draws on diagram edges."""

    topic: str = Field(min_length=1)
    label: str | None = None
    conditional: bool = False


def _emits(value: Any) -> Any:
    if isinstance(value, list):
        return [{"topic": v} if isinstance(v, str) else v for v in value]
    return value


class _StepBase(_Model):
    name: str
    description: str | None = None
    flows: list[str] = []
    emits: list[Emit] = []
    virtual_emits: list[Emit] = []
    virtual_subscribes: list[str] = []
    include_files: list[str] = []
    infrastructure: Infrastructure = Infrastructure()

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must start with a letter or _ and hold only letters, digits, _, - and .")
        return value

    @field_validator("emits", "virtual_emits", mode="before")
    @classmethod
    def _normalise_emits(cls, value: Any) -> Any:
        return _emits(value)

    @property
    def emit_topics(self) -> frozenset[str]:
        return frozenset(e.topic for e in self.emits)


def _schema(value: Any) -> Schema | None:
    if value is None:
        return None
    schema = Schema(value)
    try:
        schema.check()
    except Exception as exc:  # jsonschema.SchemaError, pydantic.PydanticSchemaGenerationError
        raise ValueError(f"not a valid schema: {exc}") from None
    return schema


#: The topic a trigger step's queue is fed on: one per step, so a change is routed to exactly the
#: steps whose trigger matches it (EventBridge detail-type on AWS, the local bus's topic here).
TRIGGER_TOPIC_PREFIX = "motia.trigger."


def trigger_topic(step_name: str) -> str:
    return f"{TRIGGER_TOPIC_PREFIX}{step_name}"


# -- the step models, each in its module, imported on first use (PEP 562) ----------------------
#: step type (the ``type`` tag) -> (module, model)
_STEP_MODELS: dict[str, tuple[str, str]] = {
    "api": ("api_config", "ApiRouteConfig"), "event": ("event_config", "EventConfig"),
    "cron": ("cron_config", "CronConfig"), "noop": ("noop_config", "NoopConfig"),
    "stream": ("trigger_config", "StreamTriggerConfig"), "state": ("trigger_config", "StateTriggerConfig"),
}
_STEP_TYPES = "'api', 'event', 'cron', 'noop', 'stream', 'state'"
_LAZY = {
    **{model: module for module, model in _STEP_MODELS.values()},
    "HttpMethod": "api_config", "QueryParam": "api_config",
    "ChangeKind": "trigger_config", "StateChangeKind": "trigger_config",
}
_step_adapter: pydantic.TypeAdapter[Any] | None = None

if TYPE_CHECKING:
    StepConfigModel: TypeAlias = (ApiRouteConfig | EventConfig | CronConfig | NoopConfig | StreamTriggerConfig
                                  | StateTriggerConfig)
    StepConfig: TypeAlias = Annotated[StepConfigModel, Field(discriminator="type")]


#: A kind of step (``is_config_of``, ``project.is_step_of``) -> the ``type`` tags it covers. The
#: trigger steps are event steps too (EventConfig's subclasses): queued, retried and dead-lettered
#: the same way.
StepKind = Literal["api", "event", "cron", "noop", "stream", "state"]
_KIND_TAGS: dict[str, tuple[str, ...]] = {
    "api": ("api",), "event": ("event", "stream", "state"), "cron": ("cron",), "noop": ("noop",),
    "stream": ("stream",), "state": ("state",),
}


@overload
def is_config_of(config: StepConfigModel, kind: Literal["api"]) -> TypeGuard[ApiRouteConfig]: ...
@overload
def is_config_of(config: StepConfigModel, kind: Literal["event"]) -> TypeGuard[EventConfig]: ...
@overload
def is_config_of(config: StepConfigModel, kind: Literal["cron"]) -> TypeGuard[CronConfig]: ...
@overload
def is_config_of(config: StepConfigModel, kind: Literal["noop"]) -> TypeGuard[NoopConfig]: ...
@overload
def is_config_of(config: StepConfigModel, kind: Literal["stream"]) -> TypeGuard[StreamTriggerConfig]: ...
@overload
def is_config_of(config: StepConfigModel, kind: Literal["state"]) -> TypeGuard[StateTriggerConfig]: ...
def is_config_of(config: StepConfigModel, kind: StepKind) -> bool:
    """True when ``config`` is of ``kind``, narrowing it to that kind's model, as isinstance would.

    Told by the ``type`` tag, so asking never imports (creates) a model class: a Lambda function
    creates its own step type's only. (A ``config.type == "stream"`` comparison does not narrow
    under mypy: the trigger models subclass EventConfig, and a union of both is simplified to it.)"""
    return config.type in _KIND_TAGS[kind]


def _step_model(tag: str) -> type[StepConfigModel]:
    module, name = _STEP_MODELS[tag]
    return getattr(importlib.import_module(f".{module}", __package__), name)  # type: ignore[no-any-return]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __package__), name)
    elif name == "StepConfigModel":  # every step model: all of them are created
        from functools import reduce
        from operator import or_

        value = reduce(or_, (_step_model(tag) for tag in _STEP_MODELS))
    elif name == "StepConfig":
        value = Annotated[__getattr__("StepConfigModel"), Field(discriminator="type")]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _field_of(loc: tuple[Any, ...], tagged: bool = True) -> str:
    parts = [str(p) for p in loc]
    # A discriminated union prefixes the location with the tag ("api", "event", ...).
    if tagged and parts and parts[0] in _STEP_MODELS:
        parts = parts[1:]
    return ".".join(parts) or "(config)"


def config_error(exc: pydantic.ValidationError, file: str, tagged: bool = True) -> ConfigError:
    """The ConfigError for a config model's validation errors: the first field, then the others.

    ``tagged=False``: the errors of one step model, whose locations lack the union's tag."""
    first, *rest = exc.errors(include_url=False)
    field = _field_of(first["loc"], tagged)
    message = first["msg"]
    if first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
        field = "type"
        message = f"must be one of {_STEP_TYPES} (or give triggers: [...])"
    more = "".join(f"; {_field_of(e['loc'], tagged)}: {e['msg']}" for e in rest)
    return ConfigError(message + more, file=file, field=field)


def _raise_config_error(exc: pydantic.ValidationError, file: str, tagged: bool = True) -> NoReturn:
    raise config_error(exc, file, tagged) from None


def is_config_model_error(exc: pydantic.ValidationError) -> bool:
    """True when ``exc`` comes from one of this package's config models (a typed
    ``EventConfig(...)`` that a step file builds as it is imported), not from a model of its own."""
    models: list[type[BaseModel]] = [_Model]
    while models:
        model = models.pop()
        if model.__name__ == exc.title:
            return True
        models.extend(model.__subclasses__())
    return False


def is_multi_trigger(raw: Any) -> bool:
    """A ``triggers: [...]`` config (expanded by ``triggers.expand_step_config``)."""
    return isinstance(raw, dict) and "triggers" in raw


def parse_step_config(raw: Any, file: str) -> StepConfigModel:
    """Validate a step's ``config`` (typed model or Motia-style dict) or raise ConfigError."""
    if isinstance(raw, _StepBase):  # a typed config: ApiRouteConfig(...), StreamTriggerConfig(...), ...
        return raw  # type: ignore[return-value]
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a dict or a step config model, not {type(raw).__name__}", file=file)
    global _step_adapter
    tag = raw.get("type")
    # A known type is validated by its own model, which is what the discriminated union does
    # with it (same result, same errors but for the tag first in their location), without
    # creating or building the others. A missing or unknown type goes through the union, for its error.
    model = _step_model(tag) if isinstance(tag, str) and tag in _STEP_MODELS else None
    try:
        if model is not None:
            return model.model_validate(raw)
        if _step_adapter is None:
            _step_adapter = pydantic.TypeAdapter(__getattr__("StepConfig"))
        return _step_adapter.validate_python(raw)  # type: ignore[no-any-return]
    except pydantic.ValidationError as exc:
        _raise_config_error(exc, file, tagged=model is None)


# Stream configs live in stream_config.py; imported last, as that module builds on the above.
from .stream_config import (  # noqa: E402
    ClientEvents,
    Presence,
    StreamBaseConfig,
    StreamConfig,
    StreamHistory,
    parse_stream_config,
)

__all__ = [
    "ApiRouteConfig", "ClientEvents", "CronConfig", "Emit", "EventConfig", "HandlerInfra", "Infrastructure",
    "NoopConfig", "Presence", "QueryParam", "QueueInfra", "StateTriggerConfig", "StepConfig", "StepConfigModel",
    "StreamBaseConfig", "StreamConfig", "StreamHistory",
    "StreamTriggerConfig", "is_config_of", "parse_step_config", "parse_stream_config",
    "trigger_topic",
]

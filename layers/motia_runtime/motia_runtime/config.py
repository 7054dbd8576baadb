"""Step and stream configuration models.

Each model accepts the Python spelling (``body_schema``) and Motia's camelCase spelling
(``bodySchema``), so a step file can hold a typed ``ApiRouteConfig(...)`` or the plain dict a
Motia Python step has. Unknown keys are refused: a typo must not be silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeAlias

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .cron import validate_cron
from .errors import ConfigError
from .schema import Schema

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]

# What the typed constructors accept (pydantic converts each on validation): the fields are
# stored as Schema / Emit / Infrastructure, but a step writes the model class, a JSON Schema
# dict, a topic string or a plain dict. The ``__init__`` signatures below (seen only by type
# checkers) say so, since pydantic's synthesized one would demand the stored types.
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


class QueryParam(_Model):
    name: str
    description: str | None = None


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


class ApiRouteConfig(_StepBase):
    """An HTTP endpoint: ``handler(req, ctx)`` returns ``{"status", "body", "headers"?}``."""

    type: Literal["api"] = "api"
    path: str
    method: HttpMethod
    body_schema: Schema | None = None
    response_schema: dict[int, Schema] = {}
    query_params: list[QueryParam] = []
    middleware: list[Callable[..., Any]] = []

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        for part in value.strip("/").split("/"):
            if part.startswith(":") and not re.fullmatch(r":[A-Za-z_][A-Za-z0-9_]*", part):
                raise ValueError(f"path parameter {part!r} must be :name with letters, digits or _")
        return value

    @field_validator("body_schema", mode="before")
    @classmethod
    def _body(cls, value: Any) -> Any:
        return _schema(value)

    @field_validator("response_schema", mode="before")
    @classmethod
    def _responses(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {int(k): _schema(v) for k, v in value.items()}

    if TYPE_CHECKING:
        def __init__(self, *, path: str, method: HttpMethod,
                     name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["api"] = "api", body_schema: SchemaSpec = None,
                     response_schema: Mapping[int, SchemaSpec] = ..., query_params: Sequence[Any] = ...,
                     middleware: Sequence[Callable[..., Any]] = ...) -> None: ...

    @property
    def path_params(self) -> list[str]:
        return [p[1:] for p in self.path.strip("/").split("/") if p.startswith(":")]


class EventConfig(_StepBase):
    """A queue consumer: ``handler(input, ctx)`` runs for every event on a subscribed topic."""

    type: Literal["event"] = "event"
    subscribes: list[str] = Field(min_length=1)
    input: Schema | None = None
    #: ``condition(input, ctx)`` (sync or async) is asked before the handler; False skips it.
    condition: Callable[..., Any] | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: Any) -> Any:
        return _schema(value)

    if TYPE_CHECKING:
        def __init__(self, *, subscribes: Sequence[str],
                     name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["event"] = "event", input: SchemaSpec = None,
                     condition: Callable[..., Any] | None = None) -> None: ...


class CronConfig(_StepBase):
    """A scheduled step: ``handler(ctx)`` runs on the cron expression, each run a new trace."""

    type: Literal["cron"] = "cron"
    cron: str
    #: ``condition(None, ctx)`` (sync or async) is asked before each run; False skips it.
    condition: Callable[..., Any] | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        validate_cron(value)
        return value

    if TYPE_CHECKING:
        def __init__(self, *, cron: str, name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["cron"] = "cron", condition: Callable[..., Any] | None = None) -> None: ...


ChangeKind = Literal["create", "update", "delete", "event"]
StateChangeKind = Literal["create", "update", "delete"]

#: The topic a trigger step's queue is fed on: one per step, so a change is routed to exactly the
#: steps whose trigger matches it (EventBridge detail-type on AWS, the local bus's topic here).
TRIGGER_TOPIC_PREFIX = "motia.trigger."


def trigger_topic(step_name: str) -> str:
    return f"{TRIGGER_TOPIC_PREFIX}{step_name}"


class _TriggerStep(EventConfig):
    """A step fed by changes rather than by emits: queued like an event step (retries, backoff,
    dead letters), on a topic of its own that the framework publishes to when a change matches.

    Trigger queues are FIFO by default, grouped by the changed item, so one item's changes reach
    the handler one at a time and in order; ``infrastructure.queue.type = "standard"`` trades that
    for parallelism.
    """

    @model_validator(mode="before")
    @classmethod
    def _own_topic(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "subscribes" in data:
            raise ValueError("a trigger step is fed by its trigger; it does not take subscribes")
        name = data.get("name")
        data = {**data, "subscribes": [trigger_topic(name) if isinstance(name, str) else "?"]}
        infra = data.get("infrastructure")
        if isinstance(infra, dict):
            queue = infra.get("queue")
            if isinstance(queue, dict) and "type" not in queue:
                data["infrastructure"] = {**infra, "queue": {**queue, "type": "fifo"}}
        elif infra is None:
            data["infrastructure"] = {"queue": {"type": "fifo"}}
        return data


class StreamTriggerConfig(_TriggerStep):
    """Runs ``handler(change, ctx)`` for each change of a stream's items (Motia 1.0's stream trigger).

    ``events`` narrows the kinds (``create``, ``update``, ``delete``, ``event`` for ``send``);
    ``group_id`` and ``item_id`` narrow the items; ``condition(change, ctx)`` (sync or async) is
    asked first, and a False skips the handler.
    """

    # Its own tag, narrowing EventConfig's "event": queued as an event step (isinstance), told apart by type.
    type: Literal["stream"] = "stream"  # type: ignore[assignment]
    stream_name: str = Field(min_length=1)
    group_id: str | None = None
    item_id: str | None = None
    events: list[ChangeKind] = Field(["create", "update", "delete", "event"], min_length=1)

    if TYPE_CHECKING:
        def __init__(self, *, stream_name: str, name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ..., input: SchemaSpec = None,
                     condition: Callable[..., Any] | None = None, type: Literal["stream"] = "stream",
                     group_id: str | None = None, item_id: str | None = None,
                     events: Sequence[ChangeKind] = ...) -> None: ...

    def matches(self, stream: str, group_id: str, id: str | None, kind: str) -> bool:
        return (stream == self.stream_name and kind in self.events
                and (self.group_id is None or self.group_id == group_id)
                and (self.item_id is None or self.item_id == id))


class StateTriggerConfig(_TriggerStep):
    """Runs ``handler(change, ctx)`` when a state key changes, with its old and new value.

    ``group`` and ``key`` narrow the keys (Motia 1.0 offers only a condition: every state change
    reaches every state trigger there); ``events`` the kinds (``create``, ``update``, ``delete``).
    """

    # Its own tag, narrowing EventConfig's "event": queued as an event step (isinstance), told apart by type.
    type: Literal["state"] = "state"  # type: ignore[assignment]
    group: str | None = None
    key: str | None = None
    events: list[StateChangeKind] = Field(["create", "update", "delete"], min_length=1)

    if TYPE_CHECKING:
        def __init__(self, *, name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ..., input: SchemaSpec = None,
                     condition: Callable[..., Any] | None = None, type: Literal["state"] = "state",
                     group: str | None = None, key: str | None = None,
                     events: Sequence[StateChangeKind] = ...) -> None: ...

    def matches(self, group: str, key: str, kind: str) -> bool:
        return (kind in self.events and (self.group is None or self.group == group)
                and (self.key is None or self.key == key))


class NoopConfig(_StepBase):
    """A diagram-only node (an external or manual action); it has no handler."""

    type: Literal["noop"] = "noop"

    @model_validator(mode="after")
    def _no_emits(self) -> NoopConfig:
        if self.emits:
            raise ValueError("a noop step declares virtualEmits, not emits")
        return self

    if TYPE_CHECKING:
        def __init__(self, *, name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["noop"] = "noop") -> None: ...


StepConfig = Annotated[
    ApiRouteConfig | EventConfig | CronConfig | NoopConfig | StreamTriggerConfig | StateTriggerConfig,
    Field(discriminator="type"),
]
_STEP_MODELS: dict[str, type[StepConfigModel]] = {
    "api": ApiRouteConfig, "event": EventConfig, "cron": CronConfig, "noop": NoopConfig,
    "stream": StreamTriggerConfig, "state": StateTriggerConfig,
}
_STEP_TYPES = "'api', 'event', 'cron', 'noop', 'stream', 'state'"
_step_adapter: pydantic.TypeAdapter[StepConfigModel] | None = None

StepConfigModel = ApiRouteConfig | EventConfig | CronConfig | NoopConfig | StreamTriggerConfig | StateTriggerConfig
_SINGLE_MODELS = (ApiRouteConfig, EventConfig, CronConfig, NoopConfig)


def _field_of(loc: tuple[Any, ...], tagged: bool = True) -> str:
    parts = [str(p) for p in loc]
    # A discriminated union prefixes the location with the tag ("api", "event", ...).
    if tagged and parts and parts[0] in _STEP_MODELS:
        parts = parts[1:]
    return ".".join(parts) or "(config)"


def _raise_config_error(exc: pydantic.ValidationError, file: str, tagged: bool = True) -> NoReturn:
    """``tagged=False``: the errors of one step model, whose locations lack the union's tag."""
    first, *rest = exc.errors(include_url=False)
    field = _field_of(first["loc"], tagged)
    message = first["msg"]
    if first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
        field = "type"
        message = f"must be one of {_STEP_TYPES} (or give triggers: [...])"
    more = "".join(f"; {_field_of(e['loc'], tagged)}: {e['msg']}" for e in rest)
    raise ConfigError(message + more, file=file, field=field) from None


def parse_step_config(raw: Any, file: str) -> StepConfigModel:
    """Validate a step's ``config`` (typed model or Motia-style dict) or raise ConfigError."""
    if isinstance(raw, _SINGLE_MODELS):  # the trigger configs are EventConfigs too
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a dict or a step config model, not {type(raw).__name__}", file=file)
    global _step_adapter
    tag = raw.get("type")
    # A known type is validated by its own model, which is what the discriminated union does
    # with it (same result, same errors but for the tag first in their location), without
    # building the other three. A missing or unknown type goes through the union, for its error.
    model = _STEP_MODELS.get(tag) if isinstance(tag, str) else None
    try:
        if model is not None:
            return model.model_validate(raw)
        if _step_adapter is None:
            _step_adapter = pydantic.TypeAdapter(StepConfig)
        return _step_adapter.validate_python(raw)
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
    "StreamTriggerConfig", "parse_step_config", "parse_stream_config",
    "trigger_topic",
]

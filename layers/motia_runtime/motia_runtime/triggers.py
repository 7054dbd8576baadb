"""Steps with several triggers (Motia 1.0's ``triggers: [...]``), adapted to Python.

A step may declare ``triggers`` instead of a ``type``::

    from motia_runtime import http, queue, stream, state, cron

    config = {
        "name": "PetWatch",
        "triggers": [
            http("POST", "/pets/:id/watch"),
            queue("pet.updated", input=PetUpdated),
            stream("petCreation", events=["update"], condition=lambda change, ctx: ...),
            state(group="pets", condition=...),
            cron("0 * * * *"),
        ],
        "emits": ["pet.watched"],
    }

    async def handler(input, ctx):
        if ctx.trigger["type"] == "http": ...

Each trigger becomes a step of its own kind (``api``, ``event``, ``cron``, ``stream``, ``state``)
sharing the handler, the emits, the flows and the sizing: on AWS each is its own Lambda function,
as each is its own engine function in Motia 1.0. With one trigger the step keeps its name; with
several they are named ``<name>.<type>`` (``-<n>`` added when a type repeats). The handler is
always ``handler(input, ctx)``: the request for ``http``, the event data for ``queue``, the change
for ``stream`` and ``state``, and None for ``cron``; ``ctx.trigger`` says which one fired.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .config import is_config_of, parse_step_config
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import StepConfigModel

# The keys a trigger-shaped config shares with every step it expands to.
_SHARED = ("description", "flows", "emits", "virtualEmits", "virtual_emits", "virtualSubscribes",
           "virtual_subscribes", "includeFiles", "include_files")
_TYPES = {"http": "api", "api": "api", "queue": "event", "event": "event", "cron": "cron",
          "stream": "stream", "state": "state"}


def http(method: str, path: str, **options: Any) -> dict[str, Any]:
    """An HTTP route trigger; options are ``body_schema``, ``response_schema``, ``query_params``,
    ``middleware``."""
    return {"type": "http", "method": method, "path": path, **options}


def queue(topic: str, *, input: Any = None, config: dict[str, Any] | None = None,
          condition: Callable[..., Any] | None = None) -> dict[str, Any]:
    """A queue trigger on an emitted topic; ``config`` is the queue's ``infrastructure.queue``."""
    return _drop_none({"type": "queue", "topic": topic, "input": input, "config": config, "condition": condition})


def cron(expression: str, *, condition: Callable[..., Any] | None = None) -> dict[str, Any]:
    return _drop_none({"type": "cron", "expression": expression, "condition": condition})


def stream(stream_name: str, *, group_id: str | None = None, item_id: str | None = None,
           events: list[str] | None = None, condition: Callable[..., Any] | None = None,
           config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trigger on a stream's changes (``events``: create, update, delete, event)."""
    return _drop_none({"type": "stream", "streamName": stream_name, "groupId": group_id, "itemId": item_id,
                       "events": events, "condition": condition, "config": config})


def state(*, group: str | None = None, key: str | None = None, events: list[str] | None = None,
          condition: Callable[..., Any] | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trigger on state changes (``events``: create, update, delete)."""
    return _drop_none({"type": "state", "group": group, "key": key, "events": events, "condition": condition,
                       "config": config})


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _sub_names(name: str, kinds: list[str]) -> list[str]:
    if len(kinds) == 1:
        return [name]
    names: list[str] = []
    seen: dict[str, int] = {}
    for kind in kinds:
        n = seen.get(kind, 0)
        seen[kind] = n + 1
        names.append(f"{name}.{kind}" + (f"-{n}" if n else ""))
    return names


def _sub_config(trigger: dict[str, Any], kind: str, name: str, shared: dict[str, Any],
                infrastructure: dict[str, Any], field: str, file: str) -> dict[str, Any]:
    """The single-trigger config (0.17 shape) one trigger expands to."""
    body = {k: v for k, v in trigger.items() if k != "type"}
    out: dict[str, Any] = {"name": name, **shared}
    infra = dict(infrastructure)
    queue_config = body.pop("config", None)
    if queue_config is not None:
        if kind in ("api", "cron"):
            raise ConfigError(f"a {trigger['type']} trigger takes no queue config", file=file, field=f"{field}.config")
        infra["queue"] = {**infra.get("queue", {}), **queue_config}
    if infra:
        out["infrastructure"] = infra
    if kind == "api":
        if "condition" in body:
            raise ConfigError("an http trigger answers every request; use middleware to refuse some",
                              file=file, field=f"{field}.condition")
        return {**out, "type": "api", **body}
    if kind == "event":
        topic = body.pop("topic", None)
        topics = body.pop("subscribes", None) or ([topic] if topic else None)
        if not topics:
            raise ConfigError("a queue trigger needs a topic", file=file, field=f"{field}.topic")
        return {**out, "type": "event", "subscribes": topics, **body}
    if kind == "cron":
        expression = body.pop("expression", None) or body.pop("cron", None)
        if "condition" in body:
            out["condition"] = body.pop("condition")
        return {**out, "type": "cron", "cron": expression, **body}
    return {**out, "type": kind, **body}


def expand_step_config(raw: dict[str, Any], file: str) -> list[tuple[StepConfigModel, dict[str, Any]]]:
    """Validate a ``triggers`` config and return each trigger's step config with its
    ``ctx.trigger`` description (``{"type", "index", ...}``)."""
    triggers = raw.get("triggers")
    if "type" in raw:
        raise ConfigError("give either type (one trigger) or triggers (several), not both", file=file, field="type")
    if not isinstance(triggers, list) or not triggers:
        raise ConfigError("triggers must be a non-empty list", file=file, field="triggers")
    name = raw.get("name")
    if not isinstance(name, str):
        raise ConfigError("a step needs a name", file=file, field="name")
    unknown = set(raw) - {"name", "triggers", "infrastructure", *_SHARED}
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))} beside triggers", file=file,
                          field=sorted(unknown)[0])
    shared = {k: v for k, v in raw.items() if k in _SHARED}
    infrastructure = raw.get("infrastructure") or {}
    kinds = []
    for i, trigger in enumerate(triggers):
        if not isinstance(trigger, dict) or trigger.get("type") not in _TYPES:
            raise ConfigError(f"each trigger is a dict whose type is one of {', '.join(sorted(_TYPES))}",
                              file=file, field=f"triggers.{i}.type")
        kinds.append(_TYPES[trigger["type"]])
    out = []
    for i, (trigger, kind, sub) in enumerate(zip(triggers, kinds, _sub_names(name, kinds), strict=True)):
        field = f"triggers.{i}"
        sub_raw = _sub_config(trigger, kind, sub, shared, infrastructure, field, file)
        try:
            config = parse_step_config(sub_raw, file)
        except ConfigError as exc:
            # Name the trigger in the field: "triggers.2.streamName", not "streamName".
            raise ConfigError(exc.message, file=file,
                              field=f"{field}.{exc.field}" if exc.field else field) from None
        info = {"type": trigger["type"], "index": i}
        if is_config_of(config, "api"):
            info.update(method=config.method, path=config.path)
        elif is_config_of(config, "stream"):
            info.update(streamName=config.stream_name)
        elif is_config_of(config, "state"):
            info.update(group=config.group, key=config.key)
        elif is_config_of(config, "event"):
            info.update(topics=list(config.subscribes))
        elif is_config_of(config, "cron"):
            info.update(expression=config.cron)
        out.append((config, info))
    return out

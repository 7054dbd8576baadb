"""The trigger steps' config models: ``StreamTriggerConfig`` and ``StateTriggerConfig``, steps fed
by changes of a stream's items or of state keys rather than by emits.

Created on first use (see ``config``); import them from ``motia_runtime`` or ``motia_runtime.config``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from .config import trigger_topic
from .event_config import EventConfig

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .config import EmitSpec, InfraSpec, SchemaSpec


ChangeKind = Literal["create", "update", "delete", "event"]
StateChangeKind = Literal["create", "update", "delete"]


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
            # FIFO unless the queue says otherwise, also when only the handler's settings are given.
            queue = infra.get("queue")
            if queue is None:
                data["infrastructure"] = {**infra, "queue": {"type": "fifo"}}
            elif isinstance(queue, dict) and "type" not in queue:
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

    # Its own tag, narrowing EventConfig's "event": queued as an event step (a subclass), told apart by type.
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

    # Its own tag, narrowing EventConfig's "event": queued as an event step (a subclass), told apart by type.
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

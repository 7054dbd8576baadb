"""Stream and state triggers: which steps a change reaches, what they get, and when to stop.

A change (a stream item created, updated or deleted, an event sent, a state key written) is
turned here into one queued event per matching trigger step, on that step's own topic (see
``config.trigger_topic``). From there it is an ordinary queued event: retries, backoff, dead
letters, FIFO order per item (the message group is the item), on both hosts.

Where changes come from differs by host, and only that:
- locally, ``ctx.streams`` and ``ctx.state`` publish right after each write (``TriggerPublisher``),
  on the same loop, so the trigger is queued before the step's call returns, and a stream store
  that removes an expired item hands its ``delete`` over (``StreamStore.add_expiry_listener``);
- on AWS, the tables' change streams feed ``hosts/aws/triggers.py`` (the writer pays no extra
  call, the client fan-out is another consumer of the same stream), which builds the same events
  here from the records' old and new images.

Loops: a trigger's handler may write what triggers it again. Every run knows how many trigger
hops led to it (``depth``: 0 for API, event and cron runs); a write that would queue a trigger
deeper than ``MOTIA_TRIGGER_MAX_DEPTH`` (default 8) raises ``TriggerLoopError`` before anything is
written, so the chain stops at that step, whose message is retried and then dead-lettered with
the reason, instead of running forever. An item's TTL expiry is no step's write: its ``delete``
starts a chain of its own (a new trace id, depth 1) on both hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .config import trigger_topic
from .errors import MotiaError
from .ports.events import Event, EventBus, safe_message_group
from .ports.streams import StreamChange
from .run_context import current_run
from .trace import new_trace_id

if TYPE_CHECKING:
    from .project import Project, Step
    from .trigger_config import StreamTriggerConfig

ENV_MAX_DEPTH = "MOTIA_TRIGGER_MAX_DEPTH"  # read into the host's limits (limits.py)

STATE_EVENT_TYPES = {"create": "state:created", "update": "state:updated", "delete": "state:deleted"}


class TriggerLoopError(MotiaError):
    """A write would start trigger number ``MOTIA_TRIGGER_MAX_DEPTH + 1`` of one chain."""


def stream_payload(change: StreamChange, old: Any, depth: int) -> dict[str, Any]:
    """What a stream trigger's handler gets: the frame a client would get (Motia 1.0's shape)
    plus the item before and after the change."""
    if change.type == "event":
        event: dict[str, Any] = {"type": "event", "event": change.data}
        new = None
    else:
        event = {"type": change.type, "data": change.data}
        new = None if change.type == "delete" else change.data
    return {
        "type": "stream", "timestamp": change.timestamp, "streamName": change.stream_name,
        "groupId": change.group_id, "id": change.id, "event": event,
        "old_value": old, "new_value": new, "depth": depth,
    }


def state_payload(group: str, key: str, kind: str, old: Any, new: Any, depth: int) -> dict[str, Any]:
    """What a state trigger's handler gets. Motia 1.0's engine sends ``scope``/``key`` while its
    docs read ``group_id``/``item_id``: both are given."""
    return {
        "type": "state", "event_type": STATE_EVENT_TYPES[kind], "group_id": group, "item_id": key,
        "scope": group, "key": key, "old_value": old, "new_value": new, "depth": depth,
    }


class TriggerRouter:
    """The trigger steps of a project, indexed for the lookups every write makes."""

    def __init__(self, project: Project) -> None:
        self._streams: dict[str, list[Step[StreamTriggerConfig]]] = {}
        for step in project.stream_trigger_steps:
            self._streams.setdefault(step.config.stream_name, []).append(step)
        self._state = project.state_trigger_steps

    @property
    def active(self) -> bool:
        return bool(self._streams or self._state)

    @property
    def has_state_triggers(self) -> bool:
        return bool(self._state)

    def watches_stream(self, stream: str, group_id: str, id: str | None) -> bool:
        """True when some trigger may match a change of this item (before knowing its kind)."""
        return any(s.config.matches(stream, group_id, id, kind)
                   for s in self._streams.get(stream, ()) for kind in s.config.events)

    def watches_state(self, group: str, key: str) -> bool:
        return any(s.config.matches(group, key, kind)
                   for s in self._state for kind in s.config.events)

    def stream_events(self, change: StreamChange, old: Any, trace_id: str, depth: int) -> list[Event]:
        steps = [s for s in self._streams.get(change.stream_name, ())
                 if s.config.matches(change.stream_name, change.group_id, change.id, change.type)]
        if not steps:
            return []
        payload = stream_payload(change, old, depth)
        group = safe_message_group(
            f"{change.stream_name}#{change.group_id}" + (f"#{change.id}" if change.id is not None else ""))
        return [Event(trigger_topic(s.name), payload, trace_id, group) for s in steps]

    def state_events(self, group: str, key: str, kind: str, old: Any, new: Any, trace_id: str,
                     depth: int) -> list[Event]:
        steps = [s for s in self._state if s.config.matches(group, key, kind)]
        if not steps:
            return []
        payload = state_payload(group, key, kind, old, new, depth)
        message_group = safe_message_group(f"{group}#{key}")
        return [Event(trigger_topic(s.name), payload, trace_id, message_group) for s in steps]


class TriggerPublisher:
    """Queues the triggers of writes made through ``ctx.streams`` and ``ctx.state`` (local host)."""

    def __init__(self, router: TriggerRouter, bus: EventBus, max_depth: int) -> None:
        self.router = router
        self.bus = bus
        self.max_depth = max_depth  # the host's limits.trigger_max_depth

    @staticmethod
    def _next_hop() -> tuple[str, int]:
        run = current_run()
        trace_id, depth = (run.trace_id, run.depth) if run else (new_trace_id(), 0)
        return trace_id, depth + 1

    def check(self, what: str) -> None:
        """Raise before a write whose triggers would go past the depth limit."""
        _, depth = self._next_hop()
        limit = self.max_depth
        if depth > limit:
            raise TriggerLoopError(
                f"{what}: this write would start trigger hop {depth} of one chain, over the limit of {limit} "
                f"({ENV_MAX_DEPTH}); a trigger is probably writing what triggers it again. Nothing was written."
            )

    async def stream_changed(self, change: StreamChange, old: Any) -> None:
        trace_id, depth = self._next_hop()
        await self._publish(self.router.stream_events(change, old, trace_id, depth))

    async def stream_expired(self, change: StreamChange) -> None:
        """The ``delete`` of an item whose TTL ran out. No step's call made it, so it starts a
        chain of its own (a new trace, hop 1), as on AWS (``hosts/aws/triggers.py``)."""
        await self._publish(self.router.stream_events(change, change.data, new_trace_id(), 1))

    async def state_changed(self, group: str, key: str, kind: str, old: Any, new: Any) -> None:
        trace_id, depth = self._next_hop()
        await self._publish(self.router.state_events(group, key, kind, old, new, trace_id, depth))

    async def _publish(self, events: Sequence[Event]) -> None:
        if events:
            await self.bus.publish(events)

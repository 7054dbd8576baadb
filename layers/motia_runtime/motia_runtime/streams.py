"""``ctx.streams.<name>``: the stream API steps call, on top of a StreamStore.

This is where Motia's behaviour is kept (``set`` replaces the whole item, results carry ``id``
and ``__motia``) and where ours is added: data is validated against the stream's schema before
anything is written, and oversized items fail at the call instead of being dropped later.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pydantic
import pydantic_core

from . import fair_share, jsonsafe
from .config import StreamConfig
from .errors import ItemTooLargeError, StreamError, StreamNotFoundError, ValidationError
from .observe import Observer
from .ports.streams import StreamChange, StreamStore, now_ms
from .update_ops import apply_ops

if TYPE_CHECKING:
    from .trigger_routing import TriggerPublisher

T = TypeVar("T")

# API Gateway WebSocket frames are capped at 128 KB and DynamoDB items at 400 KB; a frame adds
# about 300 bytes of envelope around the item, so items are held under both limits here.
MAX_ITEM_BYTES = 127 * 1024

# Keys the framework owns: dropped from data given to ``set`` so an item read with ``get`` can be
# written back as it is.
_MANAGED_KEYS = ("id", "_createdAt", "__motia")


def _to_plain(data: Any) -> Any:
    if type(data) is dict:  # the usual case, without pydantic's slower instance check
        return data
    if isinstance(data, pydantic.BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    return data


def _check_size(stream: str, what: str, value: Any) -> None:
    size = len(pydantic_core.to_json(value))
    if size > MAX_ITEM_BYTES:
        _too_large(stream, what, size)


def _too_large(stream: str, what: str, size: int) -> None:
    raise ItemTooLargeError(
        f"stream {stream!r}: {what} is {size} bytes, over the {MAX_ITEM_BYTES}-byte limit "
        "(API Gateway WebSocket frames are capped at 128 KB)"
    )


# The longest item TTL (10 years): past it a number is more likely a unit mistake (ms for s).
MAX_TTL_S = 10 * 365 * 24 * 3600


def _check_ttl(ttl: Any) -> float:
    """A TTL in seconds: a positive, finite number (not a bool), else a ValidationError."""
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl) or ttl <= 0:
        raise ValidationError("set(): ttl must be a positive number of seconds",
                              [{"field": "ttl", "message": f"expected a positive number of seconds, got {ttl!r}"}])
    if ttl > MAX_TTL_S:
        raise ValidationError("set(): ttl is too long",
                              [{"field": "ttl", "message": f"at most {MAX_TTL_S} seconds (10 years), got {ttl!r}"}])
    return float(ttl)


def history_entry(change: StreamChange) -> dict[str, Any]:
    """A sent event as ``history()`` returns it: the frame fields a client would have got."""
    entry: dict[str, Any] = {"type": change.data.get("type"), "data": change.data.get("data"),
                             "groupId": change.group_id, "timestamp": change.timestamp, "eventId": change.event_id}
    if change.id is not None:
        entry["id"] = change.id
    return entry


class Stream:
    """One stream; every method is a coroutine."""

    def __init__(self, config: StreamConfig, store: StreamStore, triggers: TriggerPublisher | None = None) -> None:
        self.config = config
        self.name = config.name
        self.store = store
        # Set when a step's trigger watches this stream and writes queue triggers here (local host).
        self.triggers = triggers if triggers is not None and triggers.router.active else None
        self._item_what = f"stream {self.name!r} item"  # named in a validation error; built once

    def _watched(self, group_id: str, id: str | None, op: str) -> TriggerPublisher | None:
        """The publisher, when a trigger watches this item; checks the loop limit first."""
        triggers = self.triggers
        if triggers is None or not triggers.router.watches_stream(self.name, group_id, id):
            return None
        triggers.check(f"stream {self.name!r} {op} {group_id}/{id}")
        return triggers

    def _wrap(self, item: dict[str, Any] | None, group_id: str) -> dict[str, Any] | None:
        return None if item is None else self._wrap_item(item, group_id)

    def _wrap_item(self, item: dict[str, Any], group_id: str) -> dict[str, Any]:
        marker = {"type": "state-stream", "streamName": self.name, "groupId": group_id, "id": item.get("id")}
        return {**item, "__motia": marker}

    def _validate(self, data: Any, group_id: str, id: str) -> dict[str, Any]:
        return self._validated(data, group_id, id)[0]

    def _validated(self, data: Any, group_id: str, id: str) -> tuple[dict[str, Any], bytes]:
        """The item as the schema gives it, and its JSON: encoded once, here, for the size check
        and the store (bench/optimisations.md, S1)."""
        data = _to_plain(data)
        if type(data) is dict or isinstance(data, Mapping):  # a dict skips the ABC's slower check
            if "id" in data or "_createdAt" in data or "__motia" in data:
                data = {k: v for k, v in data.items() if k not in _MANAGED_KEYS}
        value = self.config.schema_.validate(data, what=self._item_what)
        if not isinstance(value, dict):
            raise StreamError(f"stream {self.name!r}: items must be objects, the schema gave {type(value).__name__}")
        # NaN, lone surrogates...: stored, they would fail every later read and sync (jsonsafe).
        raw = jsonsafe.encode(value, lambda: f"stream {self.name!r} item {group_id!r}/{id!r}")
        if len(raw) > MAX_ITEM_BYTES:
            _too_large(self.name, "item", len(raw))
        return value, raw

    @staticmethod
    def _key(group_id: Any, id: Any) -> tuple[str, str]:
        if not isinstance(group_id, str) or not group_id:
            raise StreamError(f"group_id must be a non-empty string, got {group_id!r}")
        if not isinstance(id, str) or not id:
            raise StreamError(f"id must be a non-empty string, got {id!r}")
        return group_id, id

    async def get(self, group_id: str, id: str) -> dict[str, Any] | None:
        group_id, id = self._key(group_id, id)
        return self._wrap(await self.store.get(self.name, group_id, id), group_id)

    async def set(self, group_id: str, id: str, data: Any, *, ttl: float | None = None) -> dict[str, Any]:
        """Create or replace the item; returns it with ``id`` and ``__motia``.

        ``ttl`` (seconds): the item expires that long after this write: reads stop returning it
        at once and its subscribers get a ``delete`` when the store removes it (within a second
        locally; DynamoDB's TTL takes minutes, see docs/streams.md). A later ``set`` without
        ``ttl`` keeps the item for good; ``update`` keeps its TTL."""
        return (await self._set(group_id, id, data, ttl))[0]

    async def _set(self, group_id: str, id: str, data: Any, ttl: float | None) -> tuple[dict[str, Any], bytes]:
        """``set``'s work; also returns the item's JSON (the traced stream records it as it is)."""
        group_id, id = self._key(group_id, id)
        expires_at = None if ttl is None else now_ms() + int(_check_ttl(ttl) * 1000)
        value, raw = self._validated(data, group_id, id)
        if fair_share.due():  # a loop of writes lets other tasks run (fair_share.py)
            await asyncio.sleep(0)
        triggers = None if self.triggers is None else self._watched(group_id, id, "set")
        if triggers is None:
            change = await (self.store.set_json(self.name, group_id, id, value, raw) if expires_at is None
                            else self.store.set_expiring(self.name, group_id, id, value, expires_at))
        else:
            # Written as one mutation, to learn the item it replaces (the trigger gets both), with
            # the expiry (or none: permanent again) in the same atomic write: a read before the
            # write could hand the trigger a "before" another writer had already replaced.
            seen: list[dict[str, Any] | None] = []

            def replace(current: dict[str, Any] | None) -> dict[str, Any]:
                seen[:] = [current]
                return value

            change = await self.store.mutate_expiring(self.name, group_id, id, replace, expires_at)
            await triggers.stream_changed(change, seen[0] if seen else None)
        return self._wrap_item(change.data, group_id), raw

    async def update(self, group_id: str, id: str, ops: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Apply ``ops`` atomically; the result is validated like ``set``."""
        group_id, id = self._key(group_id, id)
        await fair_share.share_loop()  # a loop of writes lets other tasks run (fair_share.py)
        triggers = self._watched(group_id, id, "update")
        seen: list[dict[str, Any] | None] = []

        def mutation(current: dict[str, Any] | None) -> dict[str, Any]:
            seen[:] = [current]
            return self._validate(apply_ops(current, ops), group_id, id)

        change = await self.store.mutate(self.name, group_id, id, mutation)
        if triggers is not None:
            await triggers.stream_changed(change, seen[0] if seen else None)
        return self._wrap_item(change.data, group_id)

    async def delete(self, group_id: str, id: str) -> dict[str, Any] | None:
        group_id, id = self._key(group_id, id)
        await fair_share.share_loop()  # a loop of writes lets other tasks run (fair_share.py)
        triggers = self._watched(group_id, id, "delete")
        change = await self.store.delete(self.name, group_id, id)
        if change is None:
            return None
        if triggers is not None:
            await triggers.stream_changed(change, change.data)
        return self._wrap(change.data, group_id)

    async def get_group(self, group_id: str) -> list[dict[str, Any]]:
        if not isinstance(group_id, str) or not group_id:
            raise StreamError(f"group_id must be a non-empty string, got {group_id!r}")
        return [self._wrap_item(item, group_id) for item in await self.store.get_group(self.name, group_id)]

    getGroup = get_group  # noqa: N815 - Motia's spelling

    async def list_groups(self) -> list[str]:
        """The groups of this stream that hold at least one item, sorted (Motia 1.0's ``listGroups``)."""
        return await self.store.list_groups(self.name)

    listGroups = list_groups  # noqa: N815 - Motia's spelling

    async def history(self, group_id: str, since: int | None = None) -> list[dict[str, Any]] | None:
        """The events sent to the group (and its items) stamped after ``since``, oldest first, as
        ``{"type", "data", "groupId", "id"?, "timestamp", "eventId"}``, from the store's history
        (``StreamConfig.history``); None when the store cannot tell it has them all (``since`` is
        outside the window, or the group had more than ``max_events`` since): read the group
        itself instead, as a client told to ``resync`` does. ``since=None``: every event kept."""
        if not isinstance(group_id, str) or not group_id:
            raise StreamError(f"group_id must be a non-empty string, got {group_id!r}")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
            raise ValidationError("history(): since must be a stamp (a whole number of ms, 0 or more)",
                                  [{"field": "since", "message": f"expected a whole number >= 0, got {since!r}"}])
        changes = await self.store.history(self.name, group_id, since)
        return None if changes is None else [history_entry(c) for c in changes]

    async def send(self, channel: Mapping[str, Any], event: Mapping[str, Any]) -> StreamChange:
        """Send an ephemeral ``{"type", "data"}`` event to ``{"groupId", "id"?}``; nothing is stored."""
        group_id = channel.get("groupId", channel.get("group_id"))
        id = channel.get("id")
        if not isinstance(group_id, str) or not group_id:
            raise StreamError("send() needs a channel with a non-empty 'groupId'")
        if id is not None and not isinstance(id, str):
            raise StreamError("send(): channel 'id' must be a string")
        if not isinstance(event.get("type"), str) or not event["type"]:
            raise StreamError("send() needs an event with a non-empty 'type'")
        payload = {"type": event["type"], "data": _to_plain(event.get("data"))}
        jsonsafe.check(payload, f"stream {self.name!r} event {event['type']!r} to {group_id!r}")
        _check_size(self.name, "event", payload)
        await fair_share.share_loop()  # a loop of writes lets other tasks run (fair_share.py)
        triggers = self._watched(group_id, id, "send")
        change = await self.store.send(self.name, group_id, id, payload)
        if triggers is not None:
            await triggers.stream_changed(change, None)
        return change

    # Motia 1.0's name for get_group. Last in the class: an annotation after it would read ``list``
    # as this method, not the builtin.
    list = get_group


class StreamSource(Protocol):
    """Where ``ctx.streams`` finds a stream it was not given (the runtime, whose project may
    import a stream on first use: the AWS triggers function's)."""

    def stream(self, name: str) -> Stream | None: ...

    def stream_names(self) -> list[str]: ...


class Streams:
    """``ctx.streams``: attribute (or item) access to the project's streams by name."""

    def __init__(self, streams: Mapping[str, Stream], source: StreamSource | None = None) -> None:
        self._streams = dict(streams)
        self._source = source

    def __getattr__(self, name: str) -> Stream:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._streams[name]
        except KeyError:
            found = self._source.stream(name) if self._source is not None else None
            if found is not None:
                self._streams[name] = found
                return found
            names = self._source.stream_names() if self._source is not None else self._streams
            known = ", ".join(sorted(names)) or "none"
            raise StreamNotFoundError(f"no stream named {name!r} (streams: {known})") from None

    __getitem__ = __getattr__

    def __contains__(self, name: object) -> bool:
        if name in self._streams:
            return True
        return isinstance(name, str) and self._source is not None and self._source.stream(name) is not None

    def __iter__(self) -> Iterator[Stream]:
        return iter(self._streams.values())


class TracedStream(Stream):
    """A stream as one run sees it when the host records operations: each call is reported to
    the observer as a ``stream`` operation (after it completes, or with ``error`` if it raised)."""

    def __init__(self, stream: Stream, observer: Observer, trace_id: str, step: str) -> None:
        super().__init__(stream.config, stream.store, stream.triggers)
        self._observer = observer
        self._trace_id = trace_id
        self._step = step

    async def _report(self, call: Awaitable[T], op: str, **detail: Any) -> T:
        detail = {"op": op, "stream": self.name, **detail}
        try:
            result = await call
        except Exception as exc:
            detail["error"] = f"{type(exc).__name__}: {exc}"
            self._observer.operation(self._trace_id, self._step, "stream", detail)
            raise
        self._observer.operation(self._trace_id, self._step, "stream", detail)
        return result

    async def get(self, group_id: str, id: str) -> dict[str, Any] | None:
        return await self._report(super().get(group_id, id), "get", groupId=group_id, id=id)

    async def set(self, group_id: str, id: str, data: Any, *, ttl: float | None = None) -> dict[str, Any]:
        # Not through _report: a loop of set()s is the hottest path a step has (S3).
        detail: dict[str, Any] = {"op": "set", "stream": self.name, "groupId": group_id, "id": id,
                                  "data": _to_plain(data)}
        if ttl is not None:
            detail["ttl"] = ttl
        try:
            result = (await self._set(group_id, id, data, ttl))[0]
        except Exception as exc:
            detail["error"] = f"{type(exc).__name__}: {exc}"
            self._observer.operation(self._trace_id, self._step, "stream", detail)
            raise
        self._observer.operation(self._trace_id, self._step, "stream", detail)
        return result

    async def update(self, group_id: str, id: str, ops: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return await self._report(super().update(group_id, id, ops), "update", groupId=group_id, id=id,
                                  ops=list(ops))

    async def delete(self, group_id: str, id: str) -> dict[str, Any] | None:
        return await self._report(super().delete(group_id, id), "delete", groupId=group_id, id=id)

    async def get_group(self, group_id: str) -> list[dict[str, Any]]:
        return await self._report(super().get_group(group_id), "getGroup", groupId=group_id)

    getGroup = get_group  # noqa: N815 - Motia's spelling

    async def send(self, channel: Mapping[str, Any], event: Mapping[str, Any]) -> StreamChange:
        return await self._report(super().send(channel, event), "send",
                                  groupId=channel.get("groupId", channel.get("group_id")), id=channel.get("id"),
                                  event=dict(event))

    # Motia 1.0's name for get_group. Last in the class: an annotation after it would read ``list``
    # as this method, not the builtin.
    list = get_group


class TracedStreams(Streams):
    """``ctx.streams`` of one run when the host records operations; streams are wrapped on first use."""

    def __init__(self, streams: Mapping[str, Stream], observer: Observer, trace_id: str, step: str,
                 source: StreamSource | None = None) -> None:
        super().__init__(streams, source)
        self._traced: dict[str, TracedStream] = {}
        self._bind = (observer, trace_id, step)

    def __getattr__(self, name: str) -> Stream:
        if name.startswith("__"):
            raise AttributeError(name)
        traced = self._traced.get(name)
        if traced is None:
            traced = self._traced[name] = TracedStream(super().__getattr__(name), *self._bind)
        return traced

    __getitem__ = __getattr__

    def __iter__(self) -> Iterator[Stream]:
        return (self[name] for name in self._streams)

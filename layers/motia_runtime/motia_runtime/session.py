"""One stream connection's side of the wire protocol, the same on every host.

A :class:`StreamSession` takes a client's frames and answers them: it parses each one
(``protocol.parse_client_message``), finds the stream, authorizes the join (``auth``),
subscribes, stamps, replays what the client missed since its last stamp, sends the ``sync``
snapshot, and turns everything that cannot be acted on into an ``error`` event (the
connection stays up). Hosts differ only in how frames travel and where subscriptions live,
which is what they implement as a :class:`SessionPort`:

* the local host: frames go to the connection's outbox, rooms are the hub's, the replay comes
  from the process's memory log or, for what came before the process started, from the store's
  durable history (``hosts/local/websocket.py``);
* AWS: frames are posted through API Gateway's Management API, rooms are rows of the
  subscriptions table, the replay reads the group's event records (``hosts/aws/websocket.py``).

The local host keeps one session per socket; on AWS each invocation builds one for the frame it
carries, since a Lambda keeps no connection. So the session holds no state of its own between
frames: what a connection has (its auth context, its subscriptions) is the port's.

Where the next protocol features go: a join/leave hook after ``_join``'s subscribe and in
``_leave``/``end``; presence on the same subscribe/unsubscribe path; client events as another
message type in :meth:`StreamSession.receive`; SSE as another port.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from typing import Any, Protocol

from . import presence
from .auth import authorize_join
from .errors import FrameTooLargeError, ValidationError
from .limits import DEFAULTS
from .log import StepLogger
from .ports.streams import StreamChange
from .protocol import (
    EVENT_NOT_ALLOWED,
    FRAME_TOO_LARGE,
    INTERNAL_ERROR,
    INVALID_EVENT,
    INVALID_MESSAGE,
    RATE_LIMITED,
    STREAM_ACCESS_DENIED,
    STREAM_NOT_FOUND,
    SUBSCRIPTION_LIMIT,
    ClientMessage,
    ProtocolError,
    Subscription,
    change_frame,
    encode,
    error_frame,
    event_frame,
    parse_client_message,
    resync_frame,
    sync_frame,
)
from .runtime import Runtime
from .stream_hooks import run_join_hook, subscription_gone, tracks_leaves
from .streams import Stream

# Subscriptions one connection may hold at once (Limits.max_subscriptions, MOTIA_WS_MAX_SUBSCRIPTIONS;
# the host passes its own). Each costs the server memory and a room entry (locally) or a table
# row (AWS), and a client never needs more than its page shows: a cap keeps one socket from
# growing the server without bound.
DEFAULT_MAX_SUBSCRIPTIONS = DEFAULTS.max_subscriptions


class SessionPort(Protocol):
    """What a host gives a session: one connection's transport, rooms and history.

    Local implementations must not suspend in ``subscribe``, nor in ``replay`` when the memory log
    answers: it is read in the same turn of the event loop as the registration, so each sent
    event is either replayed or pushed live (see ``StreamSession._join``). A replay from a store
    that suspends (Redis, after a restart) may overlap live pushes; clients drop the repeats by
    ``eventId``."""

    async def auth_context(self) -> Any:
        """What ``authenticate`` returned for this connection at the handshake (None: anonymous)."""

    def send(self, text: str) -> None:
        """Send one encoded frame to the client, in order; may raise ``FrameTooLargeError``."""

    async def subscribe(self, sub: Subscription, limit: int) -> bool:
        """Put the connection in ``sub``'s room (replacing its subscription of the same id, which
        always succeeds); False, and nothing changed, when the connection already holds ``limit``
        subscriptions. The count and the registration are one step, so concurrent joins of one
        connection (several Lambdas on AWS) cannot pass the cap together."""

    async def unsubscribe(self, subscription_id: str) -> Subscription | None:
        """Take the subscription out of its room; the one taken out, or None when the connection
        had no such one."""

    async def replay(self, stream: Stream, sub: Subscription, since: int, upto: int) -> list[StreamChange] | None:
        """The sent events for ``sub`` stamped after ``since`` (up to ``upto`` where the host can
        tell), oldest first; None when some may be missing (a ``resync`` is sent instead)."""

    async def end(self) -> list[Subscription]:
        """The connection is gone: drop all its subscriptions; returns those it held (where the
        host can tell cheaply: leave hooks run on them)."""

    async def holds(self, stream: str, group_id: str, id: str | None) -> bool:
        """Whether the connection is joined to the group (or to that item of it)."""

    async def take_event_token(self, rate_per_s: float, burst: int) -> bool:
        """Count one client event against the connection's budget (a token bucket of ``burst``
        refilled at ``rate_per_s``); False when it is spent."""


class StreamSession:
    """One connection's protocol state machine; see the module docstring."""

    __slots__ = ("leave_hooks", "log", "max_subscriptions", "on_refused", "port", "runtime")  # one per open socket

    def __init__(self, runtime: Runtime, port: SessionPort, log: StepLogger,
                 max_subscriptions: int = DEFAULT_MAX_SUBSCRIPTIONS, *, leave_hooks: bool = True,
                 on_refused: Callable[[str, str], None] | None = None) -> None:
        """``leave_hooks``: run ``on_leave`` for the subscriptions this session removes. False where
        the host runs them from elsewhere, once per removal whatever removed it (AWS: the
        connections table's change stream). ``on_refused(stream, group)``: told of each join
        to a declared stream refused (access, ``on_join``, the subscription cap): the host's analytics."""
        self.runtime = runtime
        self.port = port
        self.log = log
        self.max_subscriptions = max_subscriptions
        self.leave_hooks = leave_hooks
        self.on_refused = on_refused

    # -- frames out ---------------------------------------------------------------------------
    def _send(self, frame: dict[str, Any]) -> None:
        try:
            self.port.send(encode(frame))
        except FrameTooLargeError as exc:
            # A group sync holds every item of the group: a transport with a frame limit (API
            # Gateway's 128 KB) cannot carry a large one. The client is told instead.
            self.log.error(f"frame not sent: {exc}", stream=frame.get("streamName"), groupId=frame.get("groupId"))
            self._send(error_frame(FRAME_TOO_LARGE, f"The reply was too large for this connection ({exc}); "
                                   "subscribe to single items, or keep the group smaller",
                                   frame.get("timestamp") or 0, frame.get("streamName"), frame.get("groupId"),
                                   frame.get("id")))

    def refuse(self, code: str, message: str, stream: str | None = None, group: str | None = None,
               id: str | None = None) -> None:
        """Answer a frame that cannot be acted on with an ``error`` event; the connection stays."""
        self.log.info(f"error frame to the client: {code}: {message}", stream=stream, groupId=group)
        self._send(error_frame(code, message, self.runtime.stream_store.clock.tick(), stream, group, id))

    def _refuse_join(self, code: str, message: str, sub: Subscription) -> None:
        self.refuse(code, message, sub.stream_name, sub.group_id, sub.id)
        if self.on_refused is not None:
            self.on_refused(sub.stream_name, sub.group_id)

    # -- frames in ----------------------------------------------------------------------------
    async def receive(self, raw: str | bytes) -> None:
        """Act on one client frame; every outcome the client should know of is a frame to it."""
        try:
            message = parse_client_message(raw)
        except ProtocolError as exc:
            self.refuse(exc.code, exc.message, exc.stream_name, exc.group_id, exc.id)
            return
        sub = message.subscription
        if message.type != "join":
            try:
                await (self._leave(sub) if message.type == "leave" else self._client_event(message))
            except Exception as exc:  # a store or table failure: told, as a join's is, and the client may retry
                self.log.exception(f"{message.type} failed: {type(exc).__name__}: {exc}", stream=sub.stream_name)
                self.refuse(INTERNAL_ERROR, f"The {message.type} failed on the server; try again", sub.stream_name,
                            sub.group_id, sub.id)
            return
        try:
            await self._join(message)
        except Exception as exc:  # a store or table failure: the client is told and may join again
            self.log.exception(f"join failed: {type(exc).__name__}: {exc}", stream=sub.stream_name)
            with contextlib.suppress(Exception):  # no half-made subscription pushing to a failed join
                await self.port.unsubscribe(sub.subscription_id)
            self.refuse(INTERNAL_ERROR, "The join failed on the server; try again", sub.stream_name, sub.group_id,
                        sub.id)

    async def _leave(self, sub: Subscription) -> None:
        removed = await self.port.unsubscribe(sub.subscription_id)
        self.log.chatter("left", subscriptionId=sub.subscription_id, found=removed is not None)
        if removed is not None:
            await self._left([removed])

    async def _left(self, subs: list[Subscription], *, always: bool = False) -> None:
        """Run the leave hooks of subscriptions that went (``always``: even where the host runs
        them elsewhere, for a join that was never written there)."""
        if not (self.leave_hooks or always):
            return
        auth: Any = None
        for sub in subs:
            stream = self.runtime.streams.get(sub.stream_name)
            if stream is not None and tracks_leaves(stream.config):
                if auth is None:
                    auth = await self.port.auth_context()
                await subscription_gone(self.runtime, stream.config, sub, auth, self.log)

    async def _join(self, message: ClientMessage) -> None:
        sub = message.subscription
        stream = self.runtime.streams.get(sub.stream_name)
        if stream is None:
            # Not counted: a name no stream has would be a counter anyone could create.
            self.refuse(STREAM_NOT_FOUND, f"Stream {sub.stream_name} not found", sub.stream_name, sub.group_id, sub.id)
            return
        auth = await self.port.auth_context()
        denied = await authorize_join(stream.config, sub, auth, on_error=lambda text: self.log.warning(text))
        if denied is not None:
            self._refuse_join(STREAM_ACCESS_DENIED, denied, sub)
            return
        state: Any = None
        if stream.config.presence is not None:
            try:
                state = presence.check_state(stream.config, message.presence)
            except ValidationError as exc:
                self.refuse(INVALID_MESSAGE, f"join: {exc}", sub.stream_name, sub.group_id, sub.id)
                return
        if stream.config.on_join is not None or tracks_leaves(stream.config):
            # A rejoin with a held subscription id replaces it: the old one leaves first, so each
            # on_join is matched by one on_leave.
            await self._leave(sub)
        refused = await run_join_hook(self.runtime, stream.config, sub, auth, self.log)
        if refused is not None:
            self._refuse_join(STREAM_ACCESS_DENIED, refused, sub)
            return
        # Register first, then read: a write that lands in between is both pushed and in the
        # snapshot (harmless), never neither. The sync stamp is taken before the read so that
        # every later write is stamped above it and is not dropped by the client as stale.
        if not await self.port.subscribe(sub, self.max_subscriptions):
            self._refuse_join(SUBSCRIPTION_LIMIT, f"This connection already holds {self.max_subscriptions} "
                              "subscriptions, the most it may; leave one first", sub)
            if stream.config.on_join is not None:
                await self._left([sub], always=True)  # on_join let it through, but it was not taken
            return
        stamp = stream.store.clock.tick()
        if message.since is not None:
            # Replayed events come before the sync, as they are older than it.
            replay = await self.port.replay(stream, sub, message.since, stamp)
            if replay is None:
                self._send(resync_frame(sub, "outside the replay window", message.since, stamp))
            else:
                for change in replay:
                    self._send(change_frame(change))
        data: Any
        if sub.id is None:
            data = await stream.store.get_group(sub.stream_name, sub.group_id)
        else:
            # A missing item syncs as null (Motia sends nothing), so a client knows it is up to date.
            data = await stream.store.get(sub.stream_name, sub.group_id, sub.id)
        self._send(sync_frame(sub, data, stamp))
        if stream.config.presence is not None:
            # Who is here (before this client), then everyone (this client too) hears it joined.
            members = await presence.members(self.runtime, sub.stream_name, sub.group_id)
            self._send(event_frame(sub.stream_name, sub.group_id, None, presence.SYNC, members,
                                   stream.store.clock.tick()))
            await presence.joined(self.runtime, stream.config, sub, auth, state)
        self.log.chatter("joined", stream=sub.stream_name, groupId=sub.group_id, id=sub.id,
                       subscriptionId=sub.subscription_id)

    async def _client_event(self, message: ClientMessage) -> None:
        """An event a client sends to a group (or an item) it is joined to: checked against the
        stream's ``client_events`` (type, schema, ``can_send``, rate), then sent like a step's
        ``send`` (its subscribers get it; stream triggers on ``event`` run)."""
        sub, event = message.subscription, message.event or {}
        where = (sub.stream_name, sub.group_id, sub.id)
        stream = self.runtime.streams.get(sub.stream_name)
        if stream is None:
            self.refuse(STREAM_NOT_FOUND, f"Stream {sub.stream_name} not found", *where)
            return
        rules = stream.config.client_events
        if rules is None:
            self.refuse(EVENT_NOT_ALLOWED, f"Stream {sub.stream_name} does not take events from clients", *where)
            return
        if not await self.port.holds(*where):
            self.refuse(EVENT_NOT_ALLOWED, "Join the group (or the item) before sending events to it", *where)
            return
        if not await self.port.take_event_token(rules.rate_per_s, rules.burst):
            self.refuse(RATE_LIMITED, f"Too many events: at most {rules.rate_per_s:g} per second "
                        f"(bursts of {rules.burst}) per connection", *where)
            return
        if rules.types is not None and event["type"] not in rules.types:
            self.refuse(INVALID_EVENT, f"Event type {event['type']!r} is not one of {', '.join(rules.types)}", *where)
            return
        data = event.get("data")
        if rules.schema_ is not None:
            try:
                data = rules.schema_.validate(data, what=f"{event['type']} event data")
            except ValidationError as exc:
                self.refuse(INVALID_EVENT, str(exc), *where)
                return
        if rules.can_send is not None:
            try:
                allowed = rules.can_send({"type": event["type"], "data": data}, sub.to_wire(),
                                         await self.port.auth_context())
                if inspect.isawaitable(allowed):
                    allowed = await allowed
            except Exception as exc:
                self.log.exception(f"can_send of stream {stream.name!r} raised {type(exc).__name__}: {exc}")
                allowed = False
            if not allowed:
                self.refuse(STREAM_ACCESS_DENIED, "This event may not be sent here", *where)
                return
        channel = {"groupId": sub.group_id, **({"id": sub.id} if sub.id is not None else {})}
        await stream.send(channel, {"type": event["type"], "data": data})

    async def end(self) -> None:
        """The connection closed: its subscriptions go (and their leave hooks run)."""
        await self._left(await self.port.end())

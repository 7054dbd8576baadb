"""The one exception tree of motia_runtime.

    MotiaError
    ├── ConfigError            a step or stream file is wrong (names the file and the field)
    ├── ValidationError        data does not match a schema (carries one entry per field)
    ├── EmitError              a topic the step did not declare, or an event the bus refused
    ├── StreamError            a stream operation failed
    │   ├── StreamNotFoundError
    │   ├── StreamContentionError  an update kept losing races with other writers of its item
    │   ├── ItemTooLargeError
    │   │   └── FrameTooLargeError  a frame over what the transport carries (API Gateway: 128 KB)
    │   ├── StreamConnectionError   a stream client cannot reach the server
    │   │   └── StreamAuthError     the server refused the client's credentials
    │   │       └── StreamTokenError    a stream token is malformed, tampered with or expired
    │   └── StreamSubscriptionError the server refused a join (``code``: STREAM_NOT_FOUND, ...)
    ├── StateError             a state operation failed
    │   └── StateContentionError   an update kept losing races with other writers of its key
    ├── ConnectionGoneError    a WebSocket connection is no longer there
    ├── ConnectionThrottledError   posting to a connection was throttled (429) past the retries
    ├── ProtocolError          a client frame that cannot be acted on (protocol.py: an error frame answers it)
    └── CronConversionError    cron that EventBridge cannot run as written (tools/template/cron.py; a ValueError)

Adapters translate vendor errors (sqlite3, botocore) into these at their edge, so a step's
code and the hosts only ever catch ``MotiaError`` subclasses.
"""

from __future__ import annotations

from typing import Any


class MotiaError(Exception):
    """Root of every error raised by motia_runtime."""


class ConfigError(MotiaError):
    """A step, stream or project file is invalid.

    The message always names the file and, where there is one, the field; ``line`` is the line
    of the file the problem is on, when it is known (set by the loader, see ``project.py``).
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 line: int | None = None) -> None:
        self.file = file
        self.field = field
        self.message = message
        self.line = line
        super().__init__(self._render(with_line=False))

    def _render(self, with_line: bool) -> str:
        where = self.file or ""
        if with_line and where and self.line is not None:
            where = f"{where}:{self.line}"
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        return f"{where}: {self.message}" if where else self.message

    def located(self) -> str:
        """The message with the line after the file (``functions/a_step.py:5: method: ...``),
        as editors and terminals link it; ``str()`` keeps the line out for stable messages."""
        return self._render(with_line=True)


class ValidationError(MotiaError):
    """Data did not match a schema; ``errors`` holds ``{"field", "message"}`` entries."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        detail = "; ".join(f"{e['field'] or '(root)'}: {e['message']}" for e in errors)
        super().__init__(f"{message}: {detail}" if detail else message)


class EmitError(MotiaError):
    """An emit was refused (undeclared topic, bad envelope, event too large)."""


class StreamError(MotiaError):
    """A stream operation failed."""


class StreamNotFoundError(StreamError, AttributeError):
    """No stream with that name is defined in the project (also an AttributeError, for ``ctx.streams.x``)."""


class StreamContentionError(StreamError):
    """An update (``update``, or ``set`` on an item a trigger watches) kept losing the race with
    other writers of the same item for the store's whole retry budget (contention.py); nothing of
    it was written. ``stream``, ``group_id``, ``id``, ``attempts`` and ``waited_s`` say which and
    how long."""

    def __init__(self, stream: str, group_id: str, id: str, attempts: int, waited_s: float) -> None:
        self.stream, self.group_id, self.id = stream, group_id, id
        self.attempts, self.waited_s = attempts, waited_s
        super().__init__(f"stream {stream!r} group {group_id!r} item {id!r}: the update lost {attempts} races with "
                         f"concurrent writers over {waited_s:.1f} s and was not written; too many writers on one "
                         "item (spread them over items, or retry later)")


class ItemTooLargeError(StreamError):
    """A stream item or event is over the size the hosts can store or push."""


class StreamConnectionError(StreamError):
    """A stream client could not connect (or reconnect) to the stream WebSocket."""


class StreamAuthError(StreamConnectionError):
    """The server refused the client's credentials (HTTP 401/403 at the handshake, or close code 1008).

    Retrying with the same token cannot succeed, so clients stop instead of reconnecting.
    """


class StreamTokenError(StreamAuthError):
    """A stream token (``motia_runtime.auth.mint_stream_token``) is malformed, was signed with
    another secret or altered, or has expired. The message never contains the token."""


class FrameTooLargeError(ItemTooLargeError):
    """A frame is larger than the transport carries (API Gateway WebSocket: 128 KB); it is not
    retried, since retrying cannot make it fit."""


class StreamSubscriptionError(StreamError):
    """The server answered a join with an error frame; ``code`` is e.g. ``STREAM_ACCESS_DENIED``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


class StateError(MotiaError):
    """A state operation failed."""


class StateContentionError(StateError):
    """A state ``update`` kept losing the race with other writers of the same key for the store's
    whole retry budget (contention.py); nothing of it was written. ``group``, ``key``,
    ``attempts`` and ``waited_s`` say which and how long."""

    def __init__(self, group: str, key: str, attempts: int, waited_s: float) -> None:
        self.group, self.key, self.attempts, self.waited_s = group, key, attempts, waited_s
        super().__init__(f"state group {group!r} key {key!r}: the update lost {attempts} races with concurrent "
                         f"writers over {waited_s:.1f} s and was not written; too many writers on one key "
                         "(spread them over keys, or retry later)")


class ConnectionGoneError(MotiaError):
    """The WebSocket connection is gone (closed locally, or 410 Gone on API Gateway)."""


class ConnectionThrottledError(MotiaError):
    """API Gateway kept answering 429 for a connection after the pusher's retries."""

"""Sending frames to WebSocket clients through the API Gateway Management API.

Calls are synchronous: the fan-out posts to many connections from a thread pool, and the
WebSocket entry point posts one frame per invocation.

API Gateway's answers are told apart, because each needs a different reaction:

* 410 Gone: the client left (``$disconnect`` is not guaranteed) → ``ConnectionGoneError``; the
  caller removes the connection.
* 429 throttled: retried here with jittered exponential backoff (the SDK's own retries are off,
  so the delays are ours and bounded), then ``ConnectionThrottledError``; the fan-out reports
  the record failed and Lambda hands it over again later.
* 413 payload too large (or a frame over 128 KB, checked before the call) →
  ``FrameTooLargeError``, never retried: it cannot succeed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from ...errors import ConnectionGoneError, ConnectionThrottledError, FrameTooLargeError, MotiaError
from ._client import AWS_ERRORS, LazyClient, error_code, status_code

MAX_FRAME_BYTES = 128 * 1024  # API Gateway WebSocket's message limit
THROTTLE_RETRIES = 3
THROTTLE_BASE_S = 0.05
_THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException", "ThrottlingException"})


def _is_gone(exc: BaseException) -> bool:
    return error_code(exc) == "GoneException" or status_code(exc) == 410


def _is_throttled(exc: BaseException) -> bool:
    return error_code(exc) in _THROTTLED or status_code(exc) == 429


def _is_too_large(exc: BaseException) -> bool:
    return error_code(exc) == "PayloadTooLargeException" or status_code(exc) == 413


class ApiGatewayPusher:
    """``endpoint_url`` is ``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}``."""

    def __init__(self, endpoint_url: str, client: Any | None = None, *, throttle_retries: int = THROTTLE_RETRIES,
                 throttle_base_s: float = THROTTLE_BASE_S, sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint_url = endpoint_url
        self.throttle_retries = throttle_retries
        self.throttle_base_s = throttle_base_s
        self._sleep = sleep
        self._client = LazyClient("apigatewaymanagementapi", client, endpoint_url=endpoint_url, max_attempts=0)

    def backoff_s(self, attempt: int) -> float:
        # "Equal jitter": at least half the exponential delay, so retries do back off, and spread.
        delay = self.throttle_base_s * 2 ** attempt
        return delay / 2 + random.uniform(0, delay / 2)

    def post(self, connection_id: str, data: str | bytes) -> None:
        """Send one frame; see the module docstring for what each failure raises."""
        payload = data.encode() if isinstance(data, str) else data
        if len(payload) > MAX_FRAME_BYTES:
            raise FrameTooLargeError(f"a {len(payload)}-byte frame for connection {connection_id} is over "
                                     f"API Gateway's {MAX_FRAME_BYTES}-byte WebSocket message limit")
        for attempt in range(self.throttle_retries + 1):
            try:
                self._client.get().post_to_connection(ConnectionId=connection_id, Data=payload)
                return
            except AWS_ERRORS as exc:
                if _is_gone(exc):
                    raise ConnectionGoneError(f"connection {connection_id} is gone") from exc
                if _is_too_large(exc):
                    raise FrameTooLargeError(f"API Gateway refused a {len(payload)}-byte frame for connection "
                                             f"{connection_id} as too large (413)") from exc
                if not _is_throttled(exc):
                    raise MotiaError(f"posting to connection {connection_id} failed: {error_code(exc)}: {exc}") \
                        from exc
                if attempt == self.throttle_retries:
                    raise ConnectionThrottledError(
                        f"posting to connection {connection_id} was throttled (429) {attempt + 1} times") from exc
                self._sleep(self.backoff_s(attempt))

    def close(self, connection_id: str) -> None:
        """Disconnect a client; a connection that is already gone is not an error."""
        try:
            self._client.get().delete_connection(ConnectionId=connection_id)
        except AWS_ERRORS as exc:
            if not _is_gone(exc):
                raise MotiaError(f"closing connection {connection_id} failed: {exc}") from exc

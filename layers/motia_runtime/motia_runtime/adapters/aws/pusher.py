"""Sending frames to WebSocket clients through the API Gateway Management API.

Calls are synchronous: the fan-out posts to many connections from a thread pool, and the
WebSocket entry point posts one frame per invocation.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConnectionGoneError, MotiaError
from ._client import AWS_ERRORS, LazyClient, error_code, status_code


def _is_gone(exc: BaseException) -> bool:
    return error_code(exc) == "GoneException" or status_code(exc) == 410


class ApiGatewayPusher:
    """``endpoint_url`` is ``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}``."""

    def __init__(self, endpoint_url: str, client: Any | None = None) -> None:
        self.endpoint_url = endpoint_url
        self._client = LazyClient("apigatewaymanagementapi", client, endpoint_url=endpoint_url)

    def post(self, connection_id: str, data: str | bytes) -> None:
        """Send one frame; raises ConnectionGoneError when the client has gone (410)."""
        payload = data.encode() if isinstance(data, str) else data
        try:
            self._client.get().post_to_connection(ConnectionId=connection_id, Data=payload)
        except AWS_ERRORS as exc:
            if _is_gone(exc):
                raise ConnectionGoneError(f"connection {connection_id} is gone") from exc
            raise MotiaError(f"posting to connection {connection_id} failed: {error_code(exc)}: {exc}") from exc

    def close(self, connection_id: str) -> None:
        """Disconnect a client; a connection that is already gone is not an error."""
        try:
            self._client.get().delete_connection(ConnectionId=connection_id)
        except AWS_ERRORS as exc:
            if not _is_gone(exc):
                raise MotiaError(f"closing connection {connection_id} failed: {exc}") from exc

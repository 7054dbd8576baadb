"""Tells responses that never end by themselves (SSE streams) that the server is stopping.

uvicorn's graceful shutdown (Ctrl-C, SIGTERM, and each reload of ``motia dev``, whose supervisor
stops the old worker before starting the new one) closes idle connections, closes WebSockets
with 1012, then waits for every response in progress to finish. An SSE stream never finishes:
the server waited for ever, and a reload with an ``EventSource`` open never came. The HTTP
protocols ``motia dev`` serves with (head_timeout.py) call :func:`server_closing` from their
``shutdown()``, which uvicorn calls on every connection when it starts shutting down, and each
stream registered here ends its response: its subscription ends (presence, ``on_leave``) while
the stores are still open, and the client reconnects to the next worker with ``Last-Event-ID``.

Kept per event loop: a test process may run several servers, each on a loop of its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[Callable[[], None]]] = \
    weakref.WeakKeyDictionary()


def on_server_closing(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` (once) when this loop's server starts shutting down; returns the
    function that unregisters it."""
    listeners = _listeners.setdefault(asyncio.get_running_loop(), set())
    listeners.add(callback)
    return lambda: listeners.discard(callback)


def server_closing() -> None:
    """The server of the running loop is shutting down: tell every registered response."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for callback in list(_listeners.pop(loop, ())):
        callback()

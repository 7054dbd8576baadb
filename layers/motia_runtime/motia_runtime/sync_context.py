"""The ``ctx`` a plain ``def`` handler gets: the same calls as an ``async def`` handler's, blocking.

A plain handler runs in a worker thread (``dispatch.call_handler``), where it cannot ``await``.
Given the async ``ctx``, ``ctx.state.set(...)`` there only made a coroutine that nobody awaited:
the write was lost, with a "never awaited" RuntimeWarning as the only trace. Here each coroutine
call of ``ctx.state``, ``ctx.streams.<name>`` and ``ctx.emit`` is run on the event loop that
dispatched the step and the handler's thread waits for it: the call returns its result, or
raises its error, as a plain function would. ``ctx.logger`` and the other fields are unchanged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import threading
from collections.abc import Awaitable
from typing import Any

from .context import FlowContext
from .errors import MotiaError
from .streams import Stream


class _Blocking:
    """Forwards to ``inner``; a call that returns an awaitable waits for it on ``loop``."""

    __slots__ = ("_inner", "_loop", "_loop_thread")

    def __init__(self, inner: Any, loop: asyncio.AbstractEventLoop, loop_thread: int) -> None:
        self._inner = inner
        self._loop = loop
        self._loop_thread = loop_thread

    def _wrap(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            return self._wait(value)
        if isinstance(value, Stream):  # ctx.streams.todo / ctx.streams["todo"]
            return _Blocking(value, self._loop, self._loop_thread)
        return value

    def _wait(self, awaitable: Awaitable[Any]) -> Any:
        if threading.get_ident() == self._loop_thread:
            # Waiting here would block the loop the call needs: a deadlock, so say what to do instead.
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()
            raise MotiaError("a plain def handler's ctx was called on the event loop's thread; "
                             "use an async def handler and await the call")

        async def run() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value) or isinstance(value, type):
            return self._wrap(value)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(value(*args, **kwargs))

        return call

    def __getitem__(self, name: str) -> Any:
        return self._wrap(self._inner[name])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._wrap(self._inner(*args, **kwargs))

    def __contains__(self, name: object) -> bool:
        return name in self._inner

    def __iter__(self) -> Any:
        return (self._wrap(value) for value in self._inner)

    def __repr__(self) -> str:
        return f"blocking {self._inner!r}"


def blocking_context(ctx: FlowContext, loop: asyncio.AbstractEventLoop) -> FlowContext:
    """``ctx`` for a plain handler run in a worker thread, with ``loop`` the dispatching loop."""
    thread = threading.get_ident()  # called on the loop's thread, before the handler's starts

    def blocking(value: Any) -> Any:  # a proxy standing in for the store, streams or emit it wraps
        return _Blocking(value, loop, thread)

    return dataclasses.replace(ctx, state=blocking(ctx.state), streams=blocking(ctx.streams), emit=blocking(ctx.emit))

"""ASGI 3 middleware whose ``__call__`` is a plain function returning the next app's awaitable.

The local host's outer middlewares (trust.py, body_limit.py) do not ``await`` the app they wrap:
they hand back its coroutine, so no frame of theirs stays alive for as long as a WebSocket is
open (memory per idle subscriber) and a request costs no extra coroutine. Inside Starlette's
stack that is all it takes. A server told the app directly (uvicorn, with ``--interface auto``)
decides between ASGI 2 and 3 by asking whether ``__call__`` is a coroutine function, and would
take such a class for ASGI 2 (``app(scope)``, then ``await``-ing the result with receive/send).
:func:`asgi3` marks the method as a coroutine function for that question, the way
``inspect.markcoroutinefunction`` (Python 3.12+) is meant to be used; it changes nothing in how
the call runs.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def asgi3(call: F) -> F:
    """``call`` (a method or function returning an awaitable), marked as a coroutine function."""
    if sys.version_info >= (3, 12):
        return inspect.markcoroutinefunction(call)
    # Python 3.11: what asyncio.iscoroutinefunction (uvicorn's test before 3.14) looks for.
    call._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]  # 3.11's marker, untyped
    return call

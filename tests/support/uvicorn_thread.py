"""A uvicorn server in a thread of the test process, on a free loopback port, for tests of a protocol
class or a bare ASGI app (a whole project runs under ``inprocess.InProcessServer``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.support.fake_openai import free_port


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[uvicorn.Server]:
    """Serve ``app`` with ``uvicorn.Config(app, **config)`` (quiet and without lifespan unless said)
    and yield the server once uvicorn says it has started (``.config.port``, and what uvicorn made
    of the app, ``.config.interface``); stop it on the way out."""
    port = free_port()
    config = {"lifespan": "off", "log_level": "warning", **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(10)

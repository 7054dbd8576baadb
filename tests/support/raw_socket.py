"""Raw TCP helpers for tests of what a server does with a connection before (or instead of) HTTP."""

from __future__ import annotations

import socket
import time

import pytest


def seconds_until_closed(sock: socket.socket, limit_s: float) -> float:
    """Seconds until the server closes ``sock`` (whatever it sends is read and dropped); the test
    fails when the connection is still open after ``limit_s``."""
    start = time.monotonic()
    sock.settimeout(limit_s)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {limit_s} s")
    return time.monotonic() - start

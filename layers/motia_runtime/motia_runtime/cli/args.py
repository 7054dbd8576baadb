"""Argument types the commands share."""

from __future__ import annotations

import argparse
import errno
import socket
import sys


def port(value: str) -> int:
    """A TCP port, 0 (any free one) to 65535: argparse's one-line error for anything else. uvicorn
    given ``--port 99999`` did not fail: ``motia dev`` waited there, serving nothing."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {number}")
    return number


def unlistenable(command: str, host: str, port: int, flag: str = "--port") -> int:
    """0 when ``host:port`` can be listened on, else the exit code (1) after one line saying why.
    Checked before a server loads anything or prints its banner: uvicorn found out only after both,
    with exit 3 (``motia cloud``: a traceback) and no word on what to do. A race with another server
    starting at the same moment is still uvicorn's to report. Port 0 (any free one) always can."""
    if port == 0:
        return 0
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds it
            probe.bind(address)
    except OSError as exc:
        hint = f" (another server is on it: stop it, or pass {flag})" if exc.errno == errno.EADDRINUSE else ""
        print(f"{command}: cannot listen on {host}:{port}: {exc.strerror or exc}{hint}", file=sys.stderr)
        return 1
    return 0

"""Argument types the commands share."""

from __future__ import annotations

import argparse


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

"""Whole numbers a client writes in a path, a query or a header (a dead letter's id, an SSE
stamp), read as what they can be: ASCII digits, at most SQLite's INTEGER, where they are kept.

``str.isdigit()`` also takes "²" (int() refuses it) and "١٢" (int() reads 12), int() refuses more
than 4,300 digits, and a larger number overflows the driver: each of these was a 500.
"""

from __future__ import annotations

MAX_INT64 = 2**63 - 1


def int64(text: str) -> int | None:
    """``text`` as a whole number from 0 to :data:`MAX_INT64`, or None when it is not one."""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    value = int(text)
    return value if value <= MAX_INT64 else None

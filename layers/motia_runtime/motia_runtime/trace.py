"""Trace ids in Motia's format: five characters, a dash, the low seven digits of ``Date.now()``."""

from __future__ import annotations

import secrets
import time

# Motia leaves out 0, I, L and O so ids read unambiguously.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ123456789"


def new_trace_id() -> str:
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return f"{prefix}-{str(int(time.time() * 1000))[6:]}"

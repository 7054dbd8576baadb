"""Trace ids in Motia's format: five characters, a dash, the low seven digits of ``Date.now()``."""

from __future__ import annotations

import secrets
import time

# Motia leaves out 0, I, L and O so ids read unambiguously.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ123456789"
assert len(_ALPHABET) == 32  # new_trace_id maps random bytes onto it with "& 31"


def new_trace_id() -> str:
    # One 5-byte read, not five secrets.choice calls (a getrandom syscall each, an eighth of a
    # GET's cost; bench/RESULTS.md): 256 is a multiple of 32, so each letter stays uniform.
    prefix = "".join(_ALPHABET[b & 31] for b in secrets.token_bytes(5))
    return f"{prefix}-{str(int(time.time() * 1000))[6:]}"

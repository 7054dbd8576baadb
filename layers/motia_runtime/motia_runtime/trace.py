"""Trace ids in Motia's format: five characters, a dash, the low seven digits of ``Date.now()``."""

from __future__ import annotations

import os
import secrets
import threading
import time

# Motia leaves out 0, I, L and O so ids read unambiguously.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ123456789"
assert len(_ALPHABET) == 32  # new_trace_id maps random bytes onto it with "& 31"


_POOL = 4096  # random bytes read at a time: one getrandom call per ~800 ids
_random = bytearray()
_lock = threading.Lock()


def _forget_random() -> None:
    global _lock
    _lock = threading.Lock()  # in case the fork happened while another thread held it
    _random.clear()  # a forked child must not hand out its parent's next ids


os.register_at_fork(after_in_child=_forget_random)


def new_trace_id() -> str:
    # Five bytes from a pool filled by one read of the OS's generator, not a getrandom call per
    # id (still a tenth of a GET's CPU; bench/optimisations.md): 256 is a multiple of 32, so
    # each letter stays uniform.
    with _lock:  # plain handlers run in threads: no two ids may take the same bytes
        if len(_random) < 5:
            _random[:] = secrets.token_bytes(_POOL)
        raw = _random[-5:]
        del _random[-5:]
    prefix = "".join([_ALPHABET[b & 31] for b in raw])
    return f"{prefix}-{str(int(time.time() * 1000))[6:]}"

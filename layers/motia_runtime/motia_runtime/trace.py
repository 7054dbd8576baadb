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
# Byte → its letter: 256 is a multiple of 32, so each letter stays uniform.
_TABLE = bytes(ord(_ALPHABET[b & 31]) for b in range(256))
_letters = ""  # random letters, handed out five at a time from _next
_next = 0
_lock = threading.Lock()


def _forget_random() -> None:
    global _lock, _letters, _next
    _lock = threading.Lock()  # in case the fork happened while another thread held it
    _letters, _next = "", 0  # a forked child must not hand out its parent's next ids


os.register_at_fork(after_in_child=_forget_random)


def new_trace_id() -> str:
    # Five letters from a pool made by one read of the OS's generator, mapped to letters in one
    # call (bytes.translate), not a getrandom call per id (a tenth of a GET's CPU) nor a join per
    # id (bench/optimisations.md, round 2).
    global _letters, _next
    with _lock:  # plain handlers run in threads: no two ids may take the same letters
        at = _next
        if at + 5 > len(_letters):
            _letters, at = secrets.token_bytes(_POOL).translate(_TABLE).decode("ascii"), 0
        _next = at + 5
        prefix = _letters[at:at + 5]
    return f"{prefix}-{str(int(time.time() * 1000))[6:]}"

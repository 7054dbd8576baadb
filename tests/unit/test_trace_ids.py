"""trace.py: trace ids in Motia's format, from a pool of random letters; a forked child does not
hand out its parent's next ids."""

from __future__ import annotations

import collections
import os
import re

from motia_runtime.trace import _ALPHABET, new_trace_id

FORMAT = re.compile(r"[A-HJKMNP-Z1-9]{5}-\d{7}")  # no 0, I, L, O


def test_ids_have_motias_format_and_use_every_letter_evenly() -> None:
    ids = [new_trace_id() for _ in range(20_000)]  # past several pools of letters
    assert all(FORMAT.fullmatch(i) for i in ids)
    # 32**5 prefixes per millisecond: a few thousand ids in the same milliseconds may share one.
    assert len(set(ids)) >= len(ids) - 20
    letters = collections.Counter("".join(i[:5] for i in ids))
    assert set(letters) == set(_ALPHABET)
    expected = 5 * len(ids) / len(_ALPHABET)
    assert all(abs(n - expected) < expected * 0.1 for n in letters.values())


def test_a_forked_child_draws_new_letters() -> None:
    new_trace_id()  # the pool is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, ",".join(new_trace_id()[:5] for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split(",")
    os.waitpid(pid, 0)
    parent = [new_trace_id()[:5] for _ in range(20)]
    assert len(child) == 20 and child != parent

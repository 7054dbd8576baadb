"""Reconnect delays: exponential, capped, with jitter.

Motia's clients retry every 2 s exactly, so every client of a restarted server comes back in
the same instant. Here the n-th retry waits a random time in ``[cap/2, cap]`` where
``cap = min(maximum, initial * factor**n)``: fast for a blip, spread out for an outage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.25
    maximum: float = 10.0
    factor: float = 2.0
    # A connection that stayed up this long counts as healthy: the next retry starts from
    # ``initial`` again. A server that accepts and drops at once keeps backing off instead.
    reset_after: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        cap = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return self.rng.uniform(cap / 2, cap)

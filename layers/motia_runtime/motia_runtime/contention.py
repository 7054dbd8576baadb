"""Waiting between attempts of an optimistic write that lost a race with another writer.

A store without locks (DynamoDB) updates an item by reading it, applying the change and writing
it back on the condition that nobody wrote in between; a writer that loses tries again. With many
writers on one item, retrying at once only makes them collide again, so each lost race waits a
random time in ``[0, min(maximum_s, initial_s * 2**n)]`` ("full jitter": the writers spread out
and one wins each round) and the writer keeps trying for ``budget_s`` seconds in all, not a fixed
number of attempts: ten immediate retries are spent in a few milliseconds under load, and then a
user's update was lost while the item was merely busy. Past the budget the store raises an error
naming the item (``StreamContentionError`` for streams).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

BUDGET_S = 10.0  # well inside a Lambda's timeout; a run with a shorter deadline is cancelled first
INITIAL_S = 0.005  # about one DynamoDB round trip
MAXIMUM_S = 0.5


class RaceBackoff:
    """One write's retries: ``await lost()`` after each race lost; False when the budget is spent."""

    __slots__ = ("_clock", "_rng", "_started", "attempts", "budget_s", "initial_s", "maximum_s")

    def __init__(self, budget_s: float = BUDGET_S, initial_s: float = INITIAL_S, maximum_s: float = MAXIMUM_S,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget_s, self.initial_s, self.maximum_s = budget_s, initial_s, maximum_s
        self.attempts = 0  # races lost so far
        self._clock = clock
        self._rng = rng or random.Random()
        self._started = clock()

    @property
    def elapsed_s(self) -> float:
        return self._clock() - self._started

    async def lost(self) -> bool:
        """Count a lost race and wait before the next attempt; False (no wait) when that wait
        would end past the budget: the caller gives up."""
        cap = min(self.maximum_s, self.initial_s * 2 ** min(self.attempts, 32))
        self.attempts += 1
        delay = self._rng.uniform(0, cap)
        if self.elapsed_s + delay > self.budget_s:
            return False
        await asyncio.sleep(delay)
        return True

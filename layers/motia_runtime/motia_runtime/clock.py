"""A millisecond clock that never repeats a value.

Motia's clients drop a frame whose ``timestamp`` is not greater than the last one they saw for
an item, so two writes in the same millisecond must get different stamps or the second is lost.
"""

from __future__ import annotations

import threading
import time


class MonotonicClock:
    """Wall-clock milliseconds, bumped by one whenever the wall clock has not moved on."""

    def __init__(self, floor: int = 0) -> None:
        self._last = floor
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def advance_to(self, value: int) -> None:
        """Make sure later ticks are above ``value`` (a stamp read back from storage)."""
        with self._lock:
            if value > self._last:
                self._last = value

    def tick(self) -> int:
        with self._lock:
            now = int(time.time() * 1000)
            self._last = now if now > self._last else self._last + 1
            return self._last

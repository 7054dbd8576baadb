"""How long sent stream events can be replayed to a client rejoining with ``since`` (both hosts).

Its own module so that a Lambda function that only writes streams (and sets how long the event
records it writes are kept) need not import the wire protocol; ``protocol`` re-exports it.
"""

from __future__ import annotations

import os

from .errors import ConfigError

ENV_REPLAY_S = "MOTIA_STREAM_REPLAY_S"
DEFAULT_REPLAY_S = 300


def replay_window_s() -> int:
    """``MOTIA_STREAM_REPLAY_S`` (default 300); 0 turns replay off (every ``since`` gets a resync)."""
    raw = os.environ.get(ENV_REPLAY_S, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_REPLAY_S
    except ValueError:
        raise ConfigError(f"{ENV_REPLAY_S} must be a whole number of seconds, not {raw!r}") from None
    if not 0 <= value <= 24 * 3600:
        raise ConfigError(f"{ENV_REPLAY_S} must be between 0 and 86400 seconds")
    return value

"""How long sent stream events can be replayed to a client rejoining with ``since`` (both hosts).

Its own module so that a Lambda function that only writes streams (and sets how long the event
records it writes are kept) need not import the wire protocol; ``protocol`` re-exports it.
"""

from __future__ import annotations

from .env import env_int

ENV_REPLAY_S = "MOTIA_STREAM_REPLAY_S"
DEFAULT_REPLAY_S = 300


def replay_window_s() -> int:
    """``MOTIA_STREAM_REPLAY_S`` (default 300); 0 turns replay off (every ``since`` gets a resync)."""
    return env_int(ENV_REPLAY_S, DEFAULT_REPLAY_S, "seconds", minimum=0, maximum=24 * 3600)

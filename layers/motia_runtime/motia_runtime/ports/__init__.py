"""The seams between core and the outside world, one small abstract class per port.

Core depends only on these; adapters (memory, sqlite, aws, ...) implement them and hosts wire
them together. A missing method fails when the adapter class is instantiated (``abc``).
"""

from .events import Event, EventBus
from .state import StatePage, StateStore
from .streams import StreamChange, StreamStore

__all__ = ["Event", "EventBus", "StatePage", "StateStore", "StreamChange", "StreamStore"]

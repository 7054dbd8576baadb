"""In-memory adapters: for unit tests and ``motia_runtime.testing``; nothing survives the process."""

from .queue import MemoryQueueStore
from .state import MemoryStateStore
from .streams import MemoryStreamStore

__all__ = ["MemoryQueueStore", "MemoryStateStore", "MemoryStreamStore"]

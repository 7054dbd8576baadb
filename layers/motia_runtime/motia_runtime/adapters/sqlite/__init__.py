"""SQLite adapters: the local default. One database file under ``.motia/`` holds state, stream
items and queued events, so stopping or killing ``motia dev`` loses nothing that was accepted."""

from .db import Database
from .queue import SQLiteQueueStore
from .state import SQLiteStateStore
from .streams import SQLiteStreamStore

__all__ = ["Database", "SQLiteQueueStore", "SQLiteStateStore", "SQLiteStreamStore"]

"""The old name of :mod:`motia_runtime.client.blocking` (renamed: "sync" is also a frame type of the
protocol). Kept so scripts written against it still import; new code imports ``client.blocking``."""

from .blocking import collect, watch_group, watch_item

__all__ = ["collect", "watch_group", "watch_item"]

"""A public stream, for reads of stored data over the stream WebSocket."""

config = {"name": "board", "schema": {"type": "object"}, "public": True}

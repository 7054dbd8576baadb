"""Lambda entry points. Each module's ``handler`` is what a function's ``Handler`` names:

``api.handler`` (HTTP API v2), ``queue.handler`` (SQS batch), ``schedule.handler`` (EventBridge
schedule), ``websocket.handler`` (every WebSocket route), ``fanout.handler`` (the streams table's
DynamoDB stream), ``delivery.handler`` (big rooms' delivery queue) and ``triggers.handler`` (the
tables' streams into stream and state triggers). They import core and the AWS adapters only: no
CLI, no local host, no OpenAI SDK; a step function creates its own step type's config model only.
"""

from . import _gc

# On Lambda, the cyclic garbage collector is off until the entry module is imported (see _gc.py).
_gc.pause()

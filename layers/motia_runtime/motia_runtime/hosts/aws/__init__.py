"""Lambda entry points. Each module's ``handler`` is what a function's ``Handler`` names:

``api.handler`` (HTTP API v2), ``queue.handler`` (SQS batch), ``schedule.handler`` (EventBridge
schedule), ``websocket.handler`` (every WebSocket route) and ``fanout.handler`` (DynamoDB
stream). They import core and the AWS adapters only: no CLI, no local host, no OpenAI SDK.
"""

from . import _gc

# On Lambda, the cyclic garbage collector is off until the entry module is imported (see _gc.py).
_gc.pause()

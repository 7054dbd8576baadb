"""Lambda entry points. Each module's ``handler`` is what a function's ``Handler`` names:

``api.handler`` (HTTP API v2), ``queue.handler`` (SQS batch), ``schedule.handler`` (EventBridge
schedule), ``websocket.handler`` (every WebSocket route), ``fanout.handler`` (the streams table's
DynamoDB stream), ``delivery.handler`` (big rooms' delivery queue) and ``triggers.handler`` (the
tables' streams into stream and state triggers). They import core and the AWS adapters only: no
CLI, no local host, no OpenAI SDK; a step function creates its own step type's config model only.
"""

import os

from . import _gc

# On Lambda, the cyclic garbage collector is off until the entry module is imported (see _gc.py).
_gc.pause()

# pydantic looks for plugins by reading every installed distribution's entry points when it builds
# its first model: some 8 M instructions (~2 ms) of each cold start on Lambda, more where more is
# installed. ``motia build`` writes this marker into the runtime layer only when no distribution in
# the layers declares one (tools/layers.py); Lambda's own packages (boto3 and its dependencies)
# declare none. Then the search is skipped, unless the function's environment sets
# PYDANTIC_DISABLE_PLUGINS itself (an empty value: search as usual, for a plugin in another layer).
if os.path.exists(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "NO_PYDANTIC_PLUGINS")):
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

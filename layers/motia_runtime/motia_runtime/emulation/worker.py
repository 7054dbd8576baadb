"""The inside of one Lambda execution environment: a process that takes its function's
environment, imports the handler once (the cold start) and then runs one invocation at a time
(warm), as the Lambda runtime interface does. The parent (``lambda_pool``) owns the timeout and
the memory limit: it kills this process when either is exceeded, as Lambda ends a sandbox.

Messages on the pipe: in ``(request_id, event_json, deadline_epoch_s)``; out ``("init", ms, error)``
once, then ``("ok", result_json)`` or ``("error", {"errorType", "errorMessage", "stackTrace"})``
per invocation. Results cross as JSON, so a handler returning what JSON cannot carry fails as on
AWS (``Runtime.MarshalError``).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any


class Context:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, request_id: str, deadline_s: float) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = env.get("MOTIA_CLOUD_FUNCTION_ARN", "")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.aws_request_id = request_id
        self._deadline_s = deadline_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline_s - time.time()) * 1000))


def _error(exc: BaseException, kind: str | None = None) -> dict[str, Any]:
    return {"errorType": kind or type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)}


def main(conn: Any, env: dict[str, str], handler: str, code_root: str) -> None:
    """Entry of the worker process (multiprocessing target)."""
    # Ctrl-C reaches the whole process group; the parent ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(code_root)
    if code_root not in sys.path:
        sys.path.insert(0, code_root)  # /var/task is on the path in Lambda's Python runtime
    started = time.perf_counter()
    module_name, _, function_name = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except BaseException as exc:  # an import error is Runtime.ImportModuleError, every invocation
        conn.send(("init", (time.perf_counter() - started) * 1000, _error(exc, "Runtime.ImportModuleError")))
        return
    conn.send(("init", (time.perf_counter() - started) * 1000, None))
    while True:
        try:
            request_id, event_json, deadline_s = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            result = function(json.loads(event_json), Context(request_id, deadline_s))
        except Exception as exc:
            conn.send(("error", _error(exc)))
            continue
        try:
            conn.send(("ok", json.dumps(result)))
        except (TypeError, ValueError) as exc:
            conn.send(("error", _error(exc, "Runtime.MarshalError")))

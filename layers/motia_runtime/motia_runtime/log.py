"""The structured logger handed to steps as ``ctx.logger``.

Every entry is one JSON line (Powertools' formatter) with ``traceId``, ``step`` and ``flows``
merged in, the shape Motia's logger writes. Hosts may add a sink to see each entry as a dict
(the local host feeds the Workbench from it). Messages and fields are redacted first: tokens,
keys and secrets are written as ``[REDACTED]`` (``motia_runtime.redact``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from .redact import redact, redact_text, secret_values

LogSink = Callable[[dict[str, Any]], None]

# Keys the stdlib LogRecord owns: passing them in ``extra`` raises, so user meta that uses one
# of these names is kept under ``<name>_`` instead of being dropped.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
           "error": logging.ERROR}
_base: Any = None


def _powertools_logger() -> Any:
    global _base
    if _base is None:
        from aws_lambda_powertools import Logger

        level = os.environ.get("LOG_LEVEL", "info").lower()
        _base = Logger(
            service=os.environ.get("POWERTOOLS_SERVICE_NAME", "motia"),
            level=_LEVELS.get(level, logging.INFO),
            log_uncaught_exceptions=False,
        )
    return _base


class StepLogger:
    """``logger.info(msg, meta)`` as in Motia; ``warn`` is an alias of ``warning``."""

    __slots__ = ("_bindings", "_sink")

    def __init__(self, bindings: Mapping[str, Any] | None = None, sink: LogSink | None = None) -> None:
        self._bindings = dict(bindings or {})
        self._sink = sink

    def child(self, **bindings: Any) -> StepLogger:
        return StepLogger({**self._bindings, **bindings}, self._sink)

    def _log(self, level: str, msg: str, meta: Mapping[str, Any] | None, kwargs: dict[str, Any]) -> None:
        # Credentials never reach a log line or the host's sink (see redact.py).
        secrets = secret_values()
        fields = redact({**self._bindings, **(meta or {}), **kwargs}, secrets)
        msg = redact_text(str(msg), secrets)
        base = _powertools_logger()
        extra = {(f"{k}_" if k in _RESERVED else k): v for k, v in fields.items()}
        # stacklevel 4: the record's location is the step's call, not this module.
        getattr(base, level)(msg, extra=extra, stacklevel=4)
        if self._sink is not None:
            self._sink({"level": "warn" if level == "warning" else level, "time": int(time.time() * 1000),
                        "msg": msg, **fields})

    def debug(self, msg: str, meta: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._log("debug", msg, meta, kwargs)

    def info(self, msg: str, meta: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._log("info", msg, meta, kwargs)

    def warning(self, msg: str, meta: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._log("warning", msg, meta, kwargs)

    warn = warning

    def error(self, msg: str, meta: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._log("error", msg, meta, kwargs)

    def exception(self, msg: str, meta: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        import traceback

        self._log("error", msg, meta, {**kwargs, "stack": traceback.format_exc()})

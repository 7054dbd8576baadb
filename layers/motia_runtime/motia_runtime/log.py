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
_level: int | None = None  # LOG_LEVEL, read once (as the Powertools logger is built once)


def _configured_level() -> int:
    global _level
    if _level is None:
        _level = _LEVELS.get(os.environ.get("LOG_LEVEL", "info").lower(), logging.INFO)
    return _level


def _printed(level: str) -> bool:
    """Whether an entry at ``level`` is written, known without building Powertools' logger: an
    entry below LOG_LEVEL (a socket's "joined", every join) then costs no import and no record.
    On Lambda, its log level controls (``AWS_LAMBDA_LOG_LEVEL``) may change Powertools' level:
    there Powertools decides."""
    return (_LEVELS[level] >= _configured_level() or _base is not None
            or "AWS_LAMBDA_LOG_LEVEL" in os.environ)


def debug_enabled() -> bool:
    """Whether LOG_LEVEL (or, on Lambda, its log level controls) lets debug lines through."""
    return logging.DEBUG >= _configured_level() or "AWS_LAMBDA_LOG_LEVEL" in os.environ


def _powertools_logger() -> Any:
    global _base
    if _base is None:
        from aws_lambda_powertools import Logger

        _base = Logger(
            service=os.environ.get("POWERTOOLS_SERVICE_NAME", "motia"),
            level=_configured_level(),
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
        if _printed(level):
            extra = {(f"{k}_" if k in _RESERVED else k): v for k, v in fields.items()}
            # stacklevel 4: the record's location is the step's call, not this module.
            getattr(_powertools_logger(), level)(msg, extra=extra, stacklevel=4)
        if self._sink is not None:
            self._sink({"level": "warn" if level == "warning" else level, "time": int(time.time() * 1000),
                        "msg": msg, **fields})

    def debug(self, msg: str, meta: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._log("debug", msg, meta, kwargs)

    def chatter(self, msg: str, **kwargs: Any) -> None:
        """A debug line of the server's own, one per connection event (a join, a leave): written
        and handed to the host's sink only when LOG_LEVEL lets debug through. Below it, nothing is
        built or kept: the Workbench's log ring (5,000 entries) would otherwise keep one per join,
        ~0.3 KB of every idle subscriber, and a reconnect storm would push every step's own entries
        out of it. A step's ``debug`` is unchanged (always in the Workbench, which filters by level)."""
        if debug_enabled():
            self._log("debug", msg, None, kwargs)

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

"""Redaction of uvicorn's own log lines (the request paths it logs carry query strings, tokens
included); the runtime's log entries are redacted by ``motia_runtime.log``."""

from __future__ import annotations

from ...redact import install_filter


def install_log_redaction() -> None:
    """uvicorn logs request paths, query strings (``?authToken=``) included."""
    install_filter("uvicorn", "uvicorn.error", "uvicorn.access")

"""Keeping credentials out of logs: every log line of the runtime passes through :func:`redact`.

Three nets, because a secret can arrive by value, by name or by shape:

* the values of the secrets this process holds (``OPENAI_API_KEY``, ``MOTIA_STREAM_SECRET``,
  the AWS secret key and session token, ...), wherever they appear in a message or a field;
* fields whose name says credential (``authorization``, ``authToken``, ``cookie``,
  ``sec-websocket-protocol``, ``*_token``, ``*secret``, ``password``, ``api_key``, ...);
* strings shaped like one: JWTs (stream tokens are JWTs), ``Bearer ...``, ``?authToken=...``,
  OpenAI-style ``sk-...`` keys.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
SECRET_ENV = ("OPENAI_API_KEY", "MOTIA_STREAM_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_MIN_SECRET_CHARS = 12  # shorter values (test placeholders like "testing") would blank ordinary words

_SECRET_NAMES = frozenset({
    "authorization", "proxy-authorization", "authtoken", "auth_token", "token", "access_token", "refresh_token",
    "id_token", "secret", "client_secret", "password", "passwd", "api_key", "apikey", "x-api-key", "cookie",
    "set-cookie", "sec-websocket-protocol", "openai_api_key", "motia_stream_secret",
})
_SECRET_SUFFIXES = ("token", "secret", "password", "apikey", "api_key")
_PATTERNS = (
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]+"), REDACTED),  # a JWT: header.payload.signature
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/-]+=*"), r"\1 " + REDACTED),
    (re.compile(r"(?i)(authToken=)[^&\s\"']+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(Authorization,\s*)[^\s\"',]+"), r"\1" + REDACTED),  # Sec-WebSocket-Protocol
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
)
# Text each pattern cannot match without, lower-cased: a pattern runs only where its literal is,
# since five regex passes over every string were most of a log call's cost and most log text
# holds none (bench/RESULTS.md). Skipping is exact: a replacement never adds a literal that was
# not there, and no literal holds "i" or "s", which (?i) also matches as "İ", "ı" and "ſ".  # noqa: RUF003
_LITERALS = ("eyj", "bearer", "authtoken=", "author", "sk-")


def secret_values() -> list[str]:
    values: list[str] = []
    for name in SECRET_ENV:
        for part in os.environ.get(name, "").split(","):
            part = part.strip()
            if len(part) >= _MIN_SECRET_CHARS:
                values.append(part)
    return values


def is_secret_name(name: str) -> bool:
    key = name.lower()
    return key in _SECRET_NAMES or key.endswith(_SECRET_SUFFIXES)


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    lowered = text.lower()
    for (pattern, replacement), literal in zip(_PATTERNS, _LITERALS, strict=True):
        if literal in lowered:
            text = pattern.sub(replacement, text)
    return text


def redact(value: Any, secrets: list[str] | None = None, _depth: int = 0) -> Any:
    """``value`` with credentials replaced by ``[REDACTED]`` (containers are copied, not changed)."""
    if secrets is None:
        secrets = secret_values()
    if isinstance(value, str):
        return redact_text(value, secrets)
    if _depth > 20:  # a log field nested this deep is not worth walking further
        return value
    if isinstance(value, Mapping):
        return {k: REDACTED if isinstance(k, str) and is_secret_name(k) and v else redact(v, secrets, _depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets, _depth + 1) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """For loggers the runtime does not write itself (uvicorn's): rewrites each record's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: leave it to logging
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_filter(*logger_names: str) -> None:
    """Add a RedactingFilter to these loggers (once)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())

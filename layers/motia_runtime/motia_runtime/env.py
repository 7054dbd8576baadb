"""Whole-number settings read from the environment, refused with a ConfigError naming the variable."""

from __future__ import annotations

import os

from .errors import ConfigError


def env_int(name: str, default: int, unit: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """``name`` as a whole number of ``unit`` (``default`` when unset or blank), within the bounds."""
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of {unit}, not {raw!r}") from None
    if maximum is not None and not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum} {unit}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value

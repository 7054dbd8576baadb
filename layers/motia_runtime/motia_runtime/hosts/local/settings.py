"""What ``motia dev`` passes to the process that serves: the environment variables and their reading.

Kept apart from :mod:`.app` so the CLI can set them without importing the server (with reload on,
the CLI's process only supervises: the worker it spawns is the one that loads the app).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_ROOT = "MOTIA_ROOT"
ENV_DATA_DIR = "MOTIA_DATA_DIR"
ENV_REDIS_URL = "MOTIA_REDIS_URL"
# Set by ``motia dev`` in the worker that reload restarts: a project that fails to load then waits
# for the next change instead of ending the command.
ENV_RELOAD = "MOTIA_DEV_RELOAD"
# The address ``motia dev --host`` listens on (set by the CLI), and the other names it answers to
# (``--allowed-host``, comma-separated; ``*`` for any): see trust.py.
ENV_BIND_HOST = "MOTIA_DEV_HOST"
ENV_ALLOWED_HOSTS = "MOTIA_ALLOWED_HOSTS"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# Addresses that mean "every interface": nobody types them into a browser, so they name no host.
_ANY_INTERFACE = {"", "0.0.0.0", "::", "[::]"}


def allowed_hosts(bound: str | None, configured: str | None) -> frozenset[str] | None:
    """The names the server answers to (lower case, IPv6 without brackets); None means any.

    ``bound`` is the address ``motia dev`` listens on, ``configured`` the comma-separated
    ``MOTIA_ALLOWED_HOSTS`` (``*`` for any)."""
    extra = [h.strip().lower() for h in (configured or "").split(",") if h.strip()]
    if "*" in extra:
        return None
    names = {*LOOPBACK_NAMES, *(h.strip("[]") for h in extra)}
    if bound is not None and bound.strip() not in _ANY_INTERFACE:
        names.add(bound.strip().lower().strip("[]"))
    return frozenset(names)


@dataclass(frozen=True)
class DevSettings:
    root: Path
    data_dir: Path
    redis_url: str | None = None  # state and streams in Redis, shared by workers; else SQLite
    allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES  # the Host names served; None: any

    @classmethod
    def from_env(cls) -> DevSettings:
        root = Path(os.environ.get(ENV_ROOT, ".")).resolve()
        return cls(root, Path(os.environ.get(ENV_DATA_DIR, root / ".motia")).resolve(),
                   os.environ.get(ENV_REDIS_URL) or None,
                   allowed_hosts(os.environ.get(ENV_BIND_HOST), os.environ.get(ENV_ALLOWED_HOSTS)))

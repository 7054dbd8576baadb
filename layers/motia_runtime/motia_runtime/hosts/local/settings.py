"""What the local host is built from: :class:`DevSettings`, and how ``motia dev`` hands them on.

A test builds ``DevSettings(root, data_dir, ...)`` and a :class:`~.app.LocalHost` from it; the CLI
builds them from its flags and the environment. With reload or ``--workers``, uvicorn starts the
process that serves by importing ``create_app`` and calling it with no argument, so the settings
travel as one serialized value in ``MOTIA_DEV_SETTINGS`` (the environment is the only thing such a
child inherits from the CLI; uvicorn passes it no argument). Kept apart from :mod:`.app` so the CLI
can write it without importing the server.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ...limits import DEFAULTS, Limits

# The one value ``motia dev`` hands the worker processes uvicorn spawns (reload, --workers).
ENV_SETTINGS = "MOTIA_DEV_SETTINGS"
# Read only when MOTIA_DEV_SETTINGS is not set: the app served by uvicorn's own command line.
ENV_ROOT = "MOTIA_ROOT"
ENV_DATA_DIR = "MOTIA_DATA_DIR"
ENV_REDIS_URL = "MOTIA_REDIS_URL"
# The address ``motia dev --host`` listens on (set by the CLI), and the other names it answers to
# (``--allowed-host``, comma-separated; ``*`` for any): see trust.py.
ENV_BIND_HOST = "MOTIA_DEV_HOST"
ENV_ALLOWED_HOSTS = "MOTIA_ALLOWED_HOSTS"
ENV_CORS = "MOTIA_CORS_ORIGINS"
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


def cors_origins(raw: str | None) -> tuple[str, ...]:
    """``MOTIA_CORS_ORIGINS`` (comma-separated): the origins whose pages may call the API steps.
    Unset means ``*``, as Motia's dev server does."""
    if raw is None:
        return ("*",)
    return tuple(o.strip() for o in raw.split(",") if o.strip())


@dataclass(frozen=True)
class DevSettings:
    """Everything the local host is built from; the adapters are opened from it (app.py)."""

    root: Path
    data_dir: Path
    redis_url: str | None = None  # state and streams in Redis, shared by workers; else SQLite
    allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES  # the Host names served; None: any
    cors_origins: tuple[str, ...] = ("*",)  # MOTIA_CORS_ORIGINS
    # Under reload a project that fails to load is served as its error until the next change,
    # instead of ending the command (broken.py).
    reload: bool = False
    # gc.freeze() once the app has started (app.py): right for the process motia dev serves from,
    # wrong for a test process that builds many hosts (it would keep every frozen object forever).
    freeze_gc: bool = False
    # Connections, streams, bodies and Workbench memory (limits.py): handed to each part as it is
    # built; the CLI reads them from the environment once (Limits.from_env).
    limits: Limits = DEFAULTS

    @classmethod
    def from_env(cls) -> DevSettings:
        """The settings ``motia dev`` handed on (MOTIA_DEV_SETTINGS), else the individual
        variables, for an app served by uvicorn's own command line. Raises ConfigError for a
        limit variable that is not a whole number within its bounds."""
        if os.environ.get(ENV_SETTINGS):
            return cls.from_json(os.environ[ENV_SETTINGS])
        root = Path(os.environ.get(ENV_ROOT, ".")).resolve()
        return cls(root, Path(os.environ.get(ENV_DATA_DIR, root / ".motia")).resolve(),
                   os.environ.get(ENV_REDIS_URL) or None,
                   allowed_hosts(os.environ.get(ENV_BIND_HOST), os.environ.get(ENV_ALLOWED_HOSTS)),
                   cors_origins(os.environ.get(ENV_CORS)), limits=Limits.from_env())

    def to_json(self) -> str:
        return json.dumps({"root": str(self.root), "dataDir": str(self.data_dir), "redisUrl": self.redis_url,
                           "allowedHosts": None if self.allowed_hosts is None else sorted(self.allowed_hosts),
                           "corsOrigins": list(self.cors_origins), "reload": self.reload,
                           "freezeGc": self.freeze_gc, "limits": self.limits.to_dict()})

    @classmethod
    def from_json(cls, raw: str) -> DevSettings:
        data = json.loads(raw)
        hosts = data["allowedHosts"]
        return cls(Path(data["root"]), Path(data["dataDir"]), data["redisUrl"],
                   None if hosts is None else frozenset(hosts), tuple(data["corsOrigins"]),
                   bool(data["reload"]), bool(data["freezeGc"]), Limits.from_dict(data.get("limits") or {}))

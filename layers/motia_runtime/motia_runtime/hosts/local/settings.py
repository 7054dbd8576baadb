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


@dataclass(frozen=True)
class DevSettings:
    root: Path
    data_dir: Path
    redis_url: str | None = None  # state and streams in Redis, shared by workers; else SQLite

    @classmethod
    def from_env(cls) -> DevSettings:
        root = Path(os.environ.get(ENV_ROOT, ".")).resolve()
        return cls(root, Path(os.environ.get(ENV_DATA_DIR, root / ".motia")).resolve(),
                   os.environ.get(ENV_REDIS_URL) or None)

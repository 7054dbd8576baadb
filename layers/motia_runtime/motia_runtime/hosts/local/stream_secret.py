"""The local host's stream token secret: when ``MOTIA_STREAM_SECRET`` is unset, ``motia dev`` keeps a
random one in the data directory (``stream-secret``, mode 0600), so stream tokens work out of the
box and survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ...auth import ENV_SECRET

SECRET_FILE = "stream-secret"


def ensure_stream_secret(data_dir: Path) -> None:
    """Set ``MOTIA_STREAM_SECRET`` from the data directory's file (made once) if it is unset."""
    if os.environ.get(ENV_SECRET, "").strip():
        return
    path = data_dir / SECRET_FILE
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process of this server made it just now
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
    os.environ[ENV_SECRET] = path.read_text().strip()

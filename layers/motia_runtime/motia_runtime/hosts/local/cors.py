"""The local host's CORS origins: ``MOTIA_CORS_ORIGINS``, comma-separated origins allowed to call the
app's API from a browser. ``motia dev`` defaults to ``*``, as Motia does, since it serves a
developer's machine; the generated template does not (``CorsAllowOrigin``). ``/__motia/`` never
gets CORS (trust.py).
"""

from __future__ import annotations

import os

ENV_CORS = "MOTIA_CORS_ORIGINS"


def cors_origins() -> list[str]:
    raw = os.environ.get(ENV_CORS)
    if raw is None:
        return ["*"]
    return [o.strip() for o in raw.split(",") if o.strip()]

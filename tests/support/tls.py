"""One default TLS context for every httpx client the tests make.

httpx builds a new ``ssl.SSLContext`` for every ``Client`` and ``AsyncClient`` (so for every
module-level ``httpx.get``/``httpx.post`` too), loading certifi's CA bundle each time: ~30 ms of CPU
on this machine, though the tests only speak plain HTTP to loopback. A health poll every 50 ms
until a server answers, a ``settle`` loop, a client per request: a module made hundreds
(tests/local/test_stream_reliability.py 207, 5.5 s of CPU; bench/optimisations.md, issue 18.4).
Here the default context (``verify=True``: certifi's bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``
when set, as httpx reads them) is built once per value of those two variables and handed to every
client that asks for the default; any other ``verify`` or a ``cert`` still gets httpx's own. Only
this test process is affected (servers and scripts in subprocesses keep httpx's behaviour).
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

import httpx._transports.default as _transport

_lock = threading.Lock()
_shared: dict[tuple[str | None, str | None, bool], ssl.SSLContext] = {}


def share_default_ssl_context() -> None:
    """Make httpx's transports reuse one default context (idempotent)."""
    original = _transport.create_ssl_context
    if getattr(original, "motia_shared", False):
        return

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"), trust_env)
        with _lock:
            if key not in _shared:
                _shared[key] = original(verify=verify, cert=cert, trust_env=trust_env)
            return _shared[key]

    create_ssl_context.motia_shared = True  # type: ignore[attr-defined]
    _transport.create_ssl_context = create_ssl_context

"""Who may use ``motia cloud``'s listeners (docs/cloud-local.md, "Who can reach what").

Every web page the developer opens can send requests to a loopback port, and find the random
ones by probing: a simple cross-site request (a form POST, ``text/plain``, an ``<img>``'s GET)
is sent without a preflight, and a page on a name that resolves to 127.0.0.1 (DNS rebinding) is
same-origin with itself, so only its ``Host`` header gives it away. Hence, the local host's rules
(hosts/local/trust.py) applied to each listener:

* **Host allow-list, on every listener** (HTTP API, WebSocket API, moto, the Management API and
  its ``/__cloud/`` paths): ``localhost``, ``127.0.0.1``, ``[::1]``, ``--host`` and
  ``--allowed-host`` / ``MOTIA_ALLOWED_HOSTS`` (``*`` for any). The APIs refuse another name as
  API Gateway refuses a request it has no API for: 403 ``{"message":"Forbidden"}``; the refusal
  is logged with the way to allow the name.
* **moto and the Management API are for this machine's tools, not for web pages** (boto3, the
  AWS CLI, curl, the functions): as the Workbench's ``/__motia/``, a request carrying an
  ``Origin`` other than the listener's own is refused with 403, and so is one whose
  ``Sec-Fetch-Site`` is ``cross-site`` or ``same-site``: browsers send that header on every
  request, an ``<img>``'s GET included, and here GETs change things (SQS's query API takes
  ``?Action=SendMessage``). Tools send neither header. moto's global CORS (flask_cors, on unless
  ``MOTO_DISABLE_GLOBAL_CORS`` is set) never sees such a request, so no other page reads an
  answer: not ``/moto-api/data.json`` (every table, queue and ``--secret`` value), not SSM.
* The APIs keep the template's CORS and accept any ``Origin``, as on AWS (a ``$connect``
  function may check it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

# hosts.local (and Starlette) are imported when a gate is made, not with this module: the worker
# processes standing for Lambda import the emulation package, and Lambda never imports local/.

_PAGE_SITES = ("cross-site", "same-site")  # Sec-Fetch-Site of a request another page made


class Gate:
    """The rules of the module docstring; ``log`` takes one JSON record per refusal."""

    def __init__(self, hosts: Collection[str] | None, log: Callable[[dict[str, Any]], None]) -> None:
        from ..hosts.local.trust import HostAllowList

        self.allow = HostAllowList(hosts)
        self.hosts = hosts
        self._log = log

    def admits_host(self, listener: str, host: str) -> bool:
        """The Host allow-list (the APIs: any origin may call them, as on AWS)."""
        if self.allow.admits(host, "http"):
            return True
        from ..hosts.local.settings import ENV_ALLOWED_HOSTS

        listed = ", ".join(sorted(f"[{h}]" if ":" in h else h for h in self.hosts or ()))
        self._refused(listener, f"the host {host!r} is not one this server answers to ({listed}); to allow "
                                f"another name, start motia cloud with --allowed-host NAME or set {ENV_ALLOWED_HOSTS}")
        return False

    def tools_only(self, listener: str, headers: Mapping[str, str]) -> str | None:
        """Why a request to moto or the Management API is refused (None: it is not); ``headers``
        with lower-case names."""
        from ..hosts.local.trust import same_origin

        host = headers.get("host", "")
        if not self.admits_host(listener, host):
            return f"this server does not answer to the host {host!r}"
        origin, site = headers.get("origin"), headers.get("sec-fetch-site")
        if origin is not None and not same_origin(origin, "http", self.allow.own(host, "http")):
            reason = f"a request from the page of {origin}: this endpoint is for this machine's tools, not web pages"
        elif site is not None and site.lower() in _PAGE_SITES:
            reason = f"a request another web page made (Sec-Fetch-Site: {site}): this endpoint is for this " \
                     f"machine's tools"
        else:
            return None
        self._refused(listener, reason)
        return reason

    def _refused(self, listener: str, reason: str) -> None:
        self._log({"type": "refused", "listener": listener, "message": reason})


class ToolsOnlyWsgi:
    """A WSGI app (moto's) behind ``Gate.tools_only``."""

    def __init__(self, app: Any, gate: Gate, listener: str) -> None:
        self.app = app
        self.gate = gate
        self.listener = listener

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {name: environ[key] for name, key in (("host", "HTTP_HOST"), ("origin", "HTTP_ORIGIN"),
                                                        ("sec-fetch-site", "HTTP_SEC_FETCH_SITE")) if key in environ}
        reason = self.gate.tools_only(self.listener, headers)
        if reason is None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        body = json.dumps({"message": f"Refused: {reason}"}).encode()
        start_response("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class MotoServer:
    """moto's server (what ``moto.server.ThreadedMotoServer`` runs) on ``127.0.0.1``, behind the gate."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Listen on a free port; returns the endpoint URL."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = ToolsOnlyWsgi(DomainDispatcherApplication(create_backend_app), self.gate, "moto")
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

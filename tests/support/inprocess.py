"""``motia dev``'s app served in this test process: uvicorn in a thread, on a free loopback port.

The sockets are real (clients connect over TCP to 127.0.0.1, frames go through the same uvicorn
protocols ``motia dev`` names), only the process start is gone: no interpreter to boot, no
runtime to import again for each module. Tests of the process itself (reload, SIGKILL, workers,
the CLI, signals) keep :class:`tests.support.dev_server.DevServer`.

:class:`InProcessServer` has DevServer's interface (``url``, ``ws_url``, ``port``, ``data_dir``,
``env``, ``start``, ``stop``, ``logs``). ``env`` is applied to this process's environment from
``start`` to ``stop`` (the limits are read from it once, into the settings, as in ``motia dev``;
a None value unsets the variable); the ``OPENAI_*`` variables are removed meanwhile, as DevServer
removes them from the child's. ``limits`` builds the host with those limits instead, as a test
builds a ``LocalHost`` from its own ``DevSettings``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from motia_runtime.cli.main import _dev_settings, build_parser
from motia_runtime.hosts.local.app import LocalHost
from motia_runtime.hosts.local.head_timeout import protocol_name
from motia_runtime.hosts.local.settings import DevSettings
from motia_runtime.limits import Limits
from motia_runtime.log import _powertools_logger

from .fake_openai import free_port

REPO = Path(__file__).resolve().parents[2]
# A project's own modules: every project has these names, so one loaded before must not answer
# for the next (motia dev has a fresh interpreter per project).
_PROJECT_PACKAGES = ("functions", "streams", "motia_types")
_roots: set[Path] = set()  # the roots of the projects served in this process


def _project_module(name: str, module: object) -> bool:
    file = getattr(module, "__file__", None) or ""
    return name.split(".")[0] in _PROJECT_PACKAGES or any(
        file.startswith(f"{root}{os.sep}") for root in _roots if root != REPO)  # REPO also holds tests/


class _ProjectImports:
    """While a server loads its project, ``import functions...`` finds that project's modules,
    freshly imported (as in a new ``motia dev``); then the modules imported before (by a test, or
    for another server) are back, the same objects, as is sys.path. The server's steps keep the
    modules they were loaded from (no step imports a project module later)."""

    def __init__(self, root: Path) -> None:
        _roots.add(root)
        self.saved = {n: m for n, m in sys.modules.items() if _project_module(n, m)}
        for name in self.saved:
            del sys.modules[name]
        self.path = list(sys.path)
        if str(root) in sys.path:
            sys.path.remove(str(root))
        sys.path.insert(0, str(root))

    def restore(self) -> None:
        for name, module in list(sys.modules.items()):
            if _project_module(name, module):
                del sys.modules[name]
        sys.modules.update(self.saved)
        sys.path[:] = self.path


class _AsMotiaDevWrites(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        steps = logging.getLogger(_powertools_logger().name)
        self.steps_name = steps.name
        self.steps = next((h.formatter for h in steps.handlers if h.formatter is not None), None)

    def format(self, record: logging.LogRecord) -> str:
        if record.name == self.steps_name and self.steps is not None:
            return self.steps.format(record)
        return super().format(record)


class InProcessServer:
    def __init__(self, root: Path, data_dir: Path, env: dict[str, str | None] | None = None, port: int | None = None,
                 args: tuple[str, ...] = (), limits: Limits | None = None):
        self.args = args
        self.limits = limits  # more ``motia dev`` flags (those that make its settings: --allowed-host...)
        self.root = Path(root).resolve()
        self.data_dir = Path(data_dir)
        self.env = dict(env or {})
        self.port = port or free_port()
        self.log_path = self.data_dir / f"server-{self.port}.log"
        self.host: LocalHost | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}
        self._handler: logging.Handler | None = None
        self._loggers: list[logging.Logger] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def settings(self) -> DevSettings:
        """What ``motia dev --root ROOT --data-dir DATA --port PORT ARGS`` builds (cli/main.py), with
        the environment applied; without gc.freeze, which would pin this process's objects."""
        args = build_parser().parse_args(["dev", "--root", str(self.root), "--data-dir", str(self.data_dir),
                                          "--port", str(self.port), *self.args])
        settings = dataclasses.replace(_dev_settings(args), freeze_gc=False)
        return settings if self.limits is None else dataclasses.replace(settings, limits=self.limits)

    def _apply_env(self) -> None:
        changes: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OPENAI_")}
        changes.update(self.env)
        for name, value in changes.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def _capture_logs(self) -> None:
        # What motia dev prints: uvicorn's errors, the runtime's and the steps' entries, these as
        # it writes them (one JSON line each, Powertools' formatter).
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(_AsMotiaDevWrites())
        self._loggers = [logging.getLogger()]
        for name in (_powertools_logger().name, "uvicorn"):  # those that do not reach the root
            logger = logging.getLogger(name)
            if not logger.propagate:
                self._loggers.append(logger)
        for logger in self._loggers:
            logger.addHandler(handler)
        self._handler = handler

    def _release_logs(self) -> None:
        if self._handler is not None:
            for logger in self._loggers:
                logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    def start(self, timeout_s: float = 20) -> InProcessServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._apply_env()
        try:
            imports = _ProjectImports(self.root)
            try:
                self.host = LocalHost.open(self.settings())
            finally:
                imports.restore()
            config = uvicorn.Config(
                self.host.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                # The protocols motia dev serves with (cli/main.py).
                ws="motia_runtime.hosts.local.frames:FrameWriterProtocol",
                http=protocol_name(self.host.settings.limits.header_timeout_s),
                ws_per_message_deflate=False,
            )
            # After the Config: it applies uvicorn's logging config, which replaces the handlers of
            # the "uvicorn" logger (and so would drop this one, and uvicorn's errors with it).
            self._capture_logs()
            self._server = uvicorn.Server(config)
            # uvicorn installs no signal handlers outside the main thread: the test keeps Ctrl-C.
            self._thread = threading.Thread(target=self._server.run, name=f"motia-dev-{self.port}", daemon=True)
            self._thread.start()
            deadline = time.monotonic() + timeout_s
            while not self._server.started:
                if not self._thread.is_alive():
                    raise RuntimeError(f"the in-process server ended before it started:\n{self.logs()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the in-process server did not start within {timeout_s}s:\n{self.logs()}")
                time.sleep(0.01)
            if httpx.get(f"{self.url}/__motia/health", timeout=5).status_code != 200:
                raise RuntimeError(f"the in-process server is not healthy:\n{self.logs()}")
        except BaseException:
            self.stop()
            raise
        return self

    def logs(self) -> str:
        if self._handler is not None:
            self._handler.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            if self._thread.is_alive():  # a connection that never closes: as SIGINT twice would
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._server = self._thread = None
        if self.host is not None and self.host.db is not None:
            self.host.db.close()  # the lifespan closed it unless the app never started (idempotent)
        self._release_logs()
        self._restore_env()


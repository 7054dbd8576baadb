"""A throwaway ``redis-server`` (Debian's package) on a free loopback port.

``make test`` installs the package when it is missing. Without it the Redis tests skip, except
in CI (``CI`` set), where they fail: a green CI run must have run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.fake_openai import free_port
from tests.support.unavailable import unavailable

INSTALL_HINT = "`make test` installs it (apt-get install -y redis-server)"


def redis_binary() -> str:
    """The redis-server path, or skip (fail in CI) saying how to get it."""
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)), None)
    if found:
        return found
    unavailable(f"redis-server is not installed: {INSTALL_HINT}", what="the Redis tests")


class RedisServer:
    """``persist``: an append-only file that survives ``stop()``/``start()``, as a real server's data does;
    ``password``: the server asks clients for it (``requirepass``), and ``url`` carries it; ``unix_socket``:
    the server listens on a socket file in ``workdir`` as well, and ``url`` is a ``unix://`` one for it."""

    def __init__(self, workdir: Path, *, persist: bool = False, password: str | None = None,
                 unix_socket: bool = False) -> None:
        self.binary = redis_binary()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.persist = persist
        self.password = password
        # A socket path is limited to 107 bytes, which pytest's tmp paths can pass: a short one of its own.
        self.socket_path = Path(tempfile.mkdtemp(prefix="redis-")) / "redis.sock" if unix_socket else None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.socket_path is not None:
            return f"unix://{auth}{self.socket_path}?db=0"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10) -> RedisServer:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir",
                str(self.workdir), "--appendonly", "yes" if self.persist else "no", "--appendfsync", "always"]
        if self.password:
            args += ["--requirepass", self.password]
        if self.socket_path is not None:
            self.socket_path.parent.mkdir(exist_ok=True)  # stop() removed it
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        log = open(self.workdir / "redis.log", "ab")  # closed with the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.logs()}")
            if self.ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}: {self.logs()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                # Unauthenticated, a server with a password answers NOAUTH: it is up all the same.
                return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self.socket_path is not None:
            shutil.rmtree(self.socket_path.parent, ignore_errors=True)

    def logs(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

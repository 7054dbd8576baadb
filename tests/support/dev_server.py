"""Start the real ``motia dev`` server as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .fake_openai import free_port

REPO = Path(__file__).resolve().parents[2]


class DevServer:
    def __init__(self, root: Path, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None,
                 reload: bool = False, args: tuple[str, ...] = ()):
        self.reload = reload
        self.args = args  # more ``motia dev`` flags
        self.root = root
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def spawn(self) -> DevServer:
        """Start ``motia dev`` without waiting for it to answer."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "motia_runtime", "dev", "--root", str(self.root), "--port", str(self.port),
                 "--data-dir", str(self.data_dir), *([] if self.reload else ["--no-reload"]), *self.args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        return self

    def start(self, timeout_s: float = 20) -> DevServer:
        self.spawn()
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"motia dev exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/__motia/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"motia dev did not answer within {timeout_s}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as when the machine or the process dies."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

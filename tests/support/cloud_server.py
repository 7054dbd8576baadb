"""Start the real ``motia cloud`` as a subprocess on free loopback ports and read its banner."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


class CloudServer:
    def __init__(self, root: Path, log_dir: Path, *, args: list[str] | None = None,
                 env: dict[str, str] | None = None, concurrency: int = 2, reload: bool = False) -> None:
        self.root = root
        self.log_dir = log_dir
        self.args = list(args or [])
        self.concurrency = concurrency
        self.reload = reload
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "MOTIA_"))}
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.out_path = log_dir / "cloud.out"
        self.err_path = log_dir / "cloud.err"
        self.http_url = self.ws_url = self.moto_url = self.management_url = ""
        self.ports: tuple[int, int] | None = None  # kept across restarts

    def start(self, timeout_s: float = 60) -> CloudServer:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port, ws_port = self.ports or (0, 0)
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            start_at = self.err_path.stat().st_size
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "motia_runtime", "cloud", "--root", str(self.root), "--port", str(port),
                 "--ws-port", str(ws_port), *([] if self.reload else ["--no-reload"]),
                 "--concurrency", str(self.concurrency), *self.args],
                env=self.env, stdout=out, stderr=err)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            text = self.err_path.read_text(errors="replace")[start_at:]
            found = re.search(r"HTTP API\s+(\S+)\n\s+WebSocket (\S+)\n\s+AWS services \(moto\) (\S+)\s+"
                              r"Management API (\S+)", text)
            if found:
                self.http_url, self.ws_url, self.moto_url, self.management_url = found.groups()
                self.ports = (int(self.http_url.rsplit(":", 1)[1]), int(self.ws_url.rsplit(":", 1)[1].split("/")[0]))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"motia cloud exited with {self.proc.returncode}:\n{text}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"motia cloud did not start within {timeout_s}s:\n{self.logs()}")

    @property
    def control_url(self) -> str:
        return self.management_url.rsplit("/", 1)[0] + "/__cloud"

    def run_schedule(self, name: str) -> dict[str, Any]:
        response = httpx.post(f"{self.control_url}/schedules/{name}", timeout=60)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.control_url}/status", timeout=10).json()
        return result

    def invocations(self) -> list[dict[str, Any]]:
        out = []
        for line in self.out_path.read_text(errors="replace").splitlines():
            if line.startswith('{"type": "invoke"'):
                out.append(json.loads(line))
        return out

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.moto_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.err_path, self.out_path) if p.exists())

    def stop(self, sig: int = signal.SIGINT) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode if self.proc else None

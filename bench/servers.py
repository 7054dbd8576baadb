"""Our ``motia dev`` and the Motia peer as processes: started in their own process group, timed from spawn to
the first 200, stopped with their children, and their resident memory read from /proc."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from machine import pinned, set_affinity
from settings import APP, OURS_PORT, PEER_PORT, REDIS_PORT, REPO, TMP


def _proc_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def http_status(port: int, path: str = "/ping", timeout: float = 0.5) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


class Server:
    """A dev server started in its own process group (``setsid``), measured from spawn to first 200."""

    name = ""
    port = 0
    ready_path = "/ping"  # the bench app's; answered 200 once the server serves

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_dir = TMP / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def cwd(self) -> Path:
        return REPO

    def before_start(self, cpus: frozenset[int] | None) -> None:
        """Called before each start, with the CPUs it will run on (``None``: anywhere)."""

    def main_pid(self) -> int | None:
        raise NotImplementedError

    def start(self, label: str, timeout_s: float = 60, cpus: frozenset[int] | None = None) -> float:
        self.stop()
        if not _free(self.port):
            raise RuntimeError(f"port {self.port} is taken by something else: not starting {self.name} there")
        self.before_start(cpus)
        self.starts += 1
        logf = open(self.log_dir / f"{self.name}-{self.starts}-{label}.log", "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(pinned(self.command(), cpus), cwd=self.cwd(), env=self.env(), stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        while time.perf_counter() - t0 < timeout_s:
            if http_status(self.port, self.ready_path) == 200:
                return (time.perf_counter() - t0) * 1000
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer GET {self.ready_path} with 200 within {timeout_s} s "
                           f"(log: {self.log_dir})")

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGINT if isinstance(self, Ours) else signal.SIGTERM)
        deadline = time.time() + 10
        while time.time() < deadline and _group_pids(pgid):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self.proc = None
        deadline = time.time() + 10
        while time.time() < deadline and not _free(self.port):
            time.sleep(0.05)

    def rss(self) -> dict[str, int]:
        """RSS (KiB) of the serving process and of its whole process group. Called from the
        sampler's thread while the main one may stop the server: ``self.proc`` is read once."""
        proc = self.proc
        if proc is None:
            return {"main_kib": 0, "group_kib": 0, "processes": 0}
        pids = _group_pids(proc.pid)
        main = self.main_pid()
        return {"main_kib": _proc_rss_kib(main) if main else 0, "group_kib": sum(_proc_rss_kib(p) for p in pids),
                "processes": len(pids)}


class Ours(Server):
    name = "ours"

    def __init__(self, reload: bool = True, root: Path = APP) -> None:
        super().__init__()
        self.port = OURS_PORT
        self.reload = reload
        self.root = root  # the bench app by default; the soak serves the repository's own project
        if root != APP:
            self.ready_path = "/__motia/health"  # a project need not have GET /ping

    def command(self) -> list[str]:
        data = TMP / "data" / f"ours-{self.starts}"
        shutil.rmtree(data, ignore_errors=True)
        return [str(Path(sys.executable).with_name("motia")), "dev", "--root", str(self.root), "--port", str(self.port),
                "--data-dir", str(data), *([] if self.reload else ["--no-reload"])]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "OPENAI_"))}
        env.setdefault("LOG_LEVEL", "info")
        return env

    def main_pid(self) -> int | None:
        """With reload, uvicorn's supervisor serves nothing: the worker it spawned does."""
        proc = self.proc  # once: stop() may clear it from another thread (RssSampler)
        if proc is None:
            return None
        pids = _group_pids(proc.pid)
        workers = [p for p in pids if p != proc.pid and "python" in _cmdline(p)]
        return max(workers, key=_proc_rss_kib) if workers else proc.pid


class Peer(Server):
    """``npx motia dev`` of the kit (shared/peers/motia-0.17) installed in a temporary folder, on our
    own redis-server; Redis is flushed before each start, as the kit's run.sh does."""

    name = "motia"

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.port = PEER_PORT
        self.workdir = workdir
        self.redis: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return ["npx", "motia", "dev", "-H", "127.0.0.1", "-p", str(self.port)]

    def cwd(self) -> Path:
        return self.workdir

    def env(self) -> dict[str, str]:
        return {**os.environ, "MOTIA_ANALYTICS_DISABLED": "true", "MOTIA_REDIS_HOST": "127.0.0.1",
                "MOTIA_REDIS_PORT": str(REDIS_PORT), "REDISMS_DISABLE_POSTINSTALL": "1"}

    def start_redis(self) -> None:
        if subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True).returncode == 0:
            raise RuntimeError(f"port {REDIS_PORT} already has a redis; refusing to reuse it (BENCH_REDIS_PORT)")
        self.redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def before_start(self, cpus: frozenset[int] | None) -> None:
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "flushall"], capture_output=True, check=True)
        if self.redis is not None:  # Redis is the peer's store: it runs where the server does
            set_affinity(self.redis.pid, cpus)

    def main_pid(self) -> int | None:
        proc = self.proc  # once: stop() may clear it from another thread (RssSampler)
        if proc is None:
            return None
        found = [p for p in _group_pids(proc.pid) if "node_modules/.bin/motia" in _cmdline(p)]
        return found[0] if found else None

    def close(self) -> None:
        self.stop()
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
            self.redis = None


class RssSampler:
    """Peak RSS of whichever server is up, sampled every 0.5 s (as the kit's sampler)."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.peak: dict[str, dict[str, int]] = {
            s.name: {"main_kib": 0, "group_kib": 0, "processes": 0} for s in servers}
        self.missed = 0  # samples that failed (a process gone mid-read): skipped, the run goes on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            for server in self.servers:
                try:
                    now = server.rss()
                except Exception:  # one lost sample (a process gone mid-read) must not end the sampling
                    self.missed += 1
                    continue
                peak = self.peak[server.name]
                for key in peak:
                    peak[key] = max(peak[key], now[key])
            self._stop.wait(0.5)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

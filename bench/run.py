"""The benchmark suite: every scenario against our ``motia dev`` and, with ``--peer``, against the real
Motia 0.17 dev server in the same run; writes bench/RESULTS.md, bench/results.json and bench/latency.png.

    make bench         # ours only                  (python bench/run.py)
    make bench-peer    # ours and Motia, side by side (python bench/run.py --peer)

Options: ``--quick`` (small sizes, for trying the suite out), ``--only a,b`` / ``--skip a,b`` (scenario
names: startup, memory, api, post, stream, stall, official, micro, coldstart, fanout), ``--out DIR`` (where
RESULTS.md, results.json and latency.png go; default bench/), ``--quiet-load 1.0 --quiet-wait 600``
(wait up to that many seconds for the 1-minute load average to drop below that before measuring).

Everything heavy lives in a temporary folder ($BENCH_TMP, default <tmp>/motia-bench), never in the
repository: the WebSocket clients' npm packages, the Motia peer's install (its kit is
shared/peers/motia-0.17), the servers' data, raw samples. See bench/README.md for the method.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
APP = BENCH / "app"
KIT = Path(os.environ.get("MOTIA_PEER_KIT", REPO.parent / "shared" / "peers" / "motia-0.17"))
TMP = Path(os.environ.get("BENCH_TMP", Path(tempfile.gettempdir()) / "motia-bench"))
PEER_VERSION = "0.17.6-beta.187"
OURS_PORT = int(os.environ.get("BENCH_PORT", "3111"))
PEER_PORT = int(os.environ.get("BENCH_PEER_PORT", "3000"))
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6399"))
SCENARIOS = ["startup", "memory", "api", "post", "stream", "stall", "official", "micro", "coldstart", "fanout"]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- sizes --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    starts: int = 5
    peer_starts: int = 3
    idle_s: float = 10.0
    wrk_s: int = 10
    ping_n: int = 2000
    peer_ping_n: int = 300
    post_runs: int = 50
    runs1: int = 40
    runs100: int = 20
    runs1000: int = 20
    burst_runs: int = 20
    gap_ms: int = 50
    official_runs: int = 20
    cold_runs: int = 15
    fanout_batches: int = 3
    fanout_records: int = 100
    fanout_subscribers: int = 1000


QUICK = Sizes(starts=2, peer_starts=1, idle_s=3, wrk_s=3, ping_n=300, peer_ping_n=50, post_runs=10, runs1=5,
              runs100=3, runs1000=2, burst_runs=3, official_runs=3, cold_runs=3, fanout_batches=2,
              fanout_records=20, fanout_subscribers=200)


# -- machine and load ---------------------------------------------------------------------------
def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class LoadMonitor:
    """Samples the 1-minute load average every second; ``window()`` gives a scenario's min/mean/max."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), load1()))
            self._stop.wait(1.0)

    def start(self) -> LoadMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def stats(self, since: float = 0.0) -> dict[str, float]:
        xs = [v for t, v in self.samples if t >= since] or [load1()]
        return {"min": min(xs), "mean": round(statistics.fmean(xs), 2), "max": max(xs)}


def wait_quiet(threshold: float, max_wait_s: float) -> dict[str, Any]:
    start = time.time()
    first = loadavg()
    while load1() >= threshold and time.time() - start < max_wait_s:
        log(f"waiting for a quiet machine: load {loadavg()} (want 1-min < {threshold}; "
            f"{int(max_wait_s - (time.time() - start))} s left)")
        time.sleep(min(30.0, max(1.0, max_wait_s - (time.time() - start))))
    return {"load_before_wait": first, "waited_s": round(time.time() - start), "load_at_start": loadavg(),
            "quiet": load1() < threshold, "threshold": threshold}


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))

    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "absent"

    import starlette
    import uvicorn

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(), "uvicorn": uvicorn.__version__,
        "starlette": starlette.__version__, "node": version(["node", "-v"]), "wrk": version(["wrk", "-v"]),
        "redis": version(["redis-server", "--version"]),
    }


# -- processes ----------------------------------------------------------------------------------
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

    def before_start(self) -> None:
        pass

    def main_pid(self) -> int | None:
        raise NotImplementedError

    def start(self, label: str, timeout_s: float = 60) -> float:
        self.stop()
        if not _free(self.port):
            raise RuntimeError(f"port {self.port} is taken by something else: not starting {self.name} there")
        self.before_start()
        self.starts += 1
        logf = open(self.log_dir / f"{self.name}-{self.starts}-{label}.log", "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd(), env=self.env(), stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        while time.perf_counter() - t0 < timeout_s:
            if http_status(self.port) == 200:
                return (time.perf_counter() - t0) * 1000
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer GET /ping with 200 within {timeout_s} s "
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
        """RSS (KiB) of the serving process and of its whole process group."""
        if self.proc is None:
            return {"main_kib": 0, "group_kib": 0, "processes": 0}
        pids = _group_pids(self.proc.pid)
        main = self.main_pid()
        return {"main_kib": _proc_rss_kib(main) if main else 0, "group_kib": sum(_proc_rss_kib(p) for p in pids),
                "processes": len(pids)}


class Ours(Server):
    name = "ours"

    def __init__(self, reload: bool = True) -> None:
        super().__init__()
        self.port = OURS_PORT
        self.reload = reload

    def command(self) -> list[str]:
        data = TMP / "data" / f"ours-{self.starts}"
        shutil.rmtree(data, ignore_errors=True)
        return [str(Path(sys.executable).with_name("motia")), "dev", "--root", str(APP), "--port", str(self.port),
                "--data-dir", str(data), *([] if self.reload else ["--no-reload"])]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "OPENAI_"))}
        env.setdefault("LOG_LEVEL", "info")
        return env

    def main_pid(self) -> int | None:
        """With reload, uvicorn's supervisor serves nothing: the worker it spawned does."""
        if self.proc is None:
            return None
        pids = _group_pids(self.proc.pid)
        workers = [p for p in pids if p != self.proc.pid and "python" in _cmdline(p)]
        return max(workers, key=_proc_rss_kib) if workers else self.proc.pid


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

    def before_start(self) -> None:
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "flushall"], capture_output=True, check=True)

    def main_pid(self) -> int | None:
        if self.proc is None:
            return None
        found = [p for p in _group_pids(self.proc.pid) if "node_modules/.bin/motia" in _cmdline(p)]
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for server in self.servers:
                now = server.rss()
                peak = self.peak[server.name]
                for key in peak:
                    peak[key] = max(peak[key], now[key])
            self._stop.wait(0.5)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


# -- tools --------------------------------------------------------------------------------------
def ensure_apt(binaries: dict[str, str]) -> None:
    """apt-get install Debian's packages for missing binaries (the suite runs as root here)."""
    missing = [pkg for binary, pkg in binaries.items() if shutil.which(binary) is None]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log(f"apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run([*sudo, "apt-get", "install", "-y", *missing], env=env, capture_output=True).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update"], env=env, capture_output=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", *missing], env=env, capture_output=True)


def npm_install(folder: Path, package_json: dict[str, Any], files: list[Path]) -> None:
    """A package folder outside the repository with the clients (kit's and ours) and their packages."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients").mkdir(exist_ok=True)
    for f in files:
        target = folder / "clients" / f.name if f.suffix in (".mjs", ".sh") else folder / f.name
        shutil.copyfile(f, target)
    wanted = json.dumps(package_json, indent=1)
    stamp = folder / ".bench-installed"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    (folder / "package.json").write_text(wanted)
    log(f"npm install in {folder} (outside the repository)")
    t = time.time()
    out = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=folder, capture_output=True, text=True,
                         env={**os.environ, "REDISMS_DISABLE_POSTINSTALL": "1"})
    if out.returncode != 0:
        raise RuntimeError(f"npm install failed in {folder}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    log(f"npm install: {time.time() - t:.0f} s")
    stamp.write_text(wanted)


def client_files() -> list[Path]:
    ours = sorted((BENCH / "clients").glob("*.mjs"))
    kit = [KIT / "clients" / n for n in ("stats.mjs", "official-loss.mjs")]
    return kit + ours


def clients_folder() -> Path:
    """Motia's own Node client and `ws`, at the kit's versions: enough to drive either server."""
    folder = TMP / "clients"
    kit_pkg = json.loads((KIT / "package.json").read_text())
    deps = {k: v for k, v in kit_pkg["dependencies"].items() if k in ("ws", "@motiadev/stream-client-node")}
    npm_install(folder, {"name": "motia-bench-clients", "private": True, "type": "module", "dependencies": deps},
                client_files())
    return folder


def peer_folder() -> Path:
    """The kit's project (package.json, motia.config.ts, steps) installed as its run.sh does."""
    folder = TMP / "peer"
    (folder / "steps").mkdir(parents=True, exist_ok=True)
    for f in (KIT / "steps").glob("*.ts"):
        shutil.copyfile(f, folder / "steps" / f.name)
    for name in ("motia.config.ts", "tsconfig.json"):
        shutil.copyfile(KIT / name, folder / name)
    npm_install(folder, json.loads((KIT / "package.json").read_text()),
                [p for p in [KIT / "package-lock.json"] if p.exists()])
    return folder


def node(folder: Path, script: str, *args: Any, env: dict[str, str] | None = None,
         timeout_s: float = 1800) -> dict[str, Any]:
    out = subprocess.run(["node", f"clients/{script}", *map(str, args)], cwd=folder, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=timeout_s)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"node {script} {args} failed ({out.returncode}):\n{out.stdout[-2000:]}\n"
                           f"{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[0])
    return result


# -- scenarios ----------------------------------------------------------------------------------
@dataclass
class Run:
    sizes: Sizes
    servers: list[Server]
    clients: Path | None
    monitor: LoadMonitor
    raw: Path
    results: dict[str, Any] = field(default_factory=dict)

    def scenario(self, name: str, fn: Callable[[], Any]) -> None:
        log(f"scenario {name} (load {loadavg()})")
        since = time.time()
        t = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:  # a scenario that breaks is reported, the others still run
            log(f"scenario {name} FAILED: {type(exc).__name__}: {exc}")
            value = {"error": f"{type(exc).__name__}: {exc}"}
        self.results[name] = {"result": value, "load": self.monitor.stats(since),
                              "seconds": round(time.perf_counter() - t, 1)}

    def raw_file(self, server: Server, name: str) -> str:
        return str(self.raw / f"{server.name}-{name}.json")


def sc_startup(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for server in run.servers:
        n = run.sizes.starts if server.name == "ours" else run.sizes.peer_starts
        times = []
        for i in range(n):
            time.sleep(1)
            times.append(round(server.start(f"startup{i}"), 1))
            server.stop()
        out[server.name] = {"ms": times, "median_ms": statistics.median(times)}
        if isinstance(server, Ours):  # and without the reloader (one process)
            lean = Ours(reload=False)
            lean_times = []
            for i in range(n):
                time.sleep(1)
                lean_times.append(round(lean.start(f"startup-noreload{i}"), 1))
                lean.stop()
            out["ours --no-reload"] = {"ms": lean_times, "median_ms": statistics.median(lean_times)}
    return out


def sc_memory(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for server in run.servers:
        server.start("memory")
        time.sleep(run.sizes.idle_s)
        out[server.name] = {"idle": server.rss()}
        server.stop()
        if isinstance(server, Ours):
            lean = Ours(reload=False)
            lean.start("memory-noreload")
            time.sleep(run.sizes.idle_s)
            out["ours --no-reload"] = {"idle": lean.rss()}
            lean.stop()
    return out


def _wrk(server: Server, seconds: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "10s", "-s",
                          str(BENCH / "wrk-report.lua"), f"{server.url}/ping"], capture_output=True, text=True,
                         timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(line[len("WRKJSON "):])
    return result


def sc_api(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for server in run.servers:
        server.start("api")
        time.sleep(2)
        res: dict[str, Any] = {"wrk": _wrk(server, run.sizes.wrk_s)}
        time.sleep(2)
        res["rss_after_wrk"] = server.rss()
        if run.clients is not None:
            n = run.sizes.ping_n if server.name == "ours" else run.sizes.peer_ping_n
            server.start("ping")  # fresh: the peer slows down with every invocation it has served
            time.sleep(2)
            res["sequential"] = node(run.clients, "ping-latency.mjs", server.url, n, 50, 600,
                                     env={"RAW": run.raw_file(server, "ping")})
        out[server.name] = res
        server.stop()
    return out


def sc_post(run: Run) -> dict[str, Any]:
    out = {}
    assert run.clients is not None
    for server in run.servers:
        server.start("post")
        time.sleep(2)
        out[server.name] = node(run.clients, "post-to-last.mjs", server.url, run.sizes.post_runs,
                                env={"RAW": run.raw_file(server, "post")})
        server.stop()
    return out


def _stream(run: Run, server: Server, label: str, k: int, runs: int, delay: int, gap: int,
            stall: bool = False) -> dict[str, Any]:
    server.start(label)
    time.sleep(2)
    env = {"GAP_MS": str(gap), "RAW": run.raw_file(server, label), **({"STALL": "1"} if stall else {})}
    result = node(run.clients, "stream-latency.mjs", server.url, k, runs, delay, env=env)  # type: ignore[arg-type]
    result["rss_after"] = server.rss()
    server.stop()
    return result


def sc_stream(run: Run) -> dict[str, Any]:
    s = run.sizes
    out: dict[str, Any] = {}
    for server in run.servers:
        out[server.name] = {
            "paced_1": _stream(run, server, "paced_1", 1, s.runs1, 300, s.gap_ms),
            "paced_100": _stream(run, server, "paced_100", 100, s.runs100, 500, s.gap_ms),
            "paced_1000": _stream(run, server, "paced_1000", 1000, s.runs1000, 3000, s.gap_ms),
            "burst_1": _stream(run, server, "burst_1", 1, s.burst_runs, 300, 0),
            "burst_100": _stream(run, server, "burst_100", 100, s.burst_runs, 500, 0),
        }
    return out


def sc_stall(run: Run) -> dict[str, Any]:
    """1,000 subscribers and one stalled client that joins every other run's group: the two kinds of
    run interleave on the same server, so the comparison is not one between two server starts."""
    s = run.sizes
    out: dict[str, Any] = {}
    for server in run.servers:
        server.start("stall")
        time.sleep(2)
        env = {"GAP_MS": str(s.gap_ms), "RAW": run.raw_file(server, "stall"), "STALL": "1", "STALL_ALTERNATE": "1"}
        result = node(run.clients, "stream-latency.mjs", server.url, 1000, 2 * s.runs1000, 3000,  # type: ignore[arg-type]
                      env=env)
        server.stop()
        out[server.name] = {
            cond: {**result["by_condition"][key], "runs": s.runs1000, "missed_updates": result["missed_updates"],
                   "stalled_client_closed_by_server": result["stalled_client_closed_by_server"]}
            for cond, key in (("without", "without_stalled"), ("with", "with_stalled"))
        }
    return out


def sc_official(run: Run) -> dict[str, Any]:
    out = {}
    assert run.clients is not None
    for server in run.servers:
        server.start("official")
        time.sleep(2)
        out[server.name] = node(run.clients, "official-loss.mjs", server.url, run.sizes.official_runs)
        server.stop()
    return out


def sc_coldstart(run: Run) -> dict[str, Any]:
    target = run.raw / "coldstart.json"
    cmd = [sys.executable, str(BENCH / "coldstart.py"), "--runs", str(run.sizes.cold_runs), "--json", str(target),
           "--layer-venv", str(TMP / "venv-layer"), *(["--callgrind"] if run.sizes.cold_runs >= 10 else [])]
    subprocess.run(cmd, check=True, cwd=REPO)
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def sc_fanout(run: Run) -> dict[str, Any]:
    s = run.sizes
    out = {}
    shapes = [("spread", s.fanout_records, s.fanout_subscribers)]
    if s.fanout_records >= 100:
        shapes.append(("chains", s.fanout_records, s.fanout_subscribers))
    for shape, records, subscribers in shapes:
        target = run.raw / f"fanout-{shape}.json"
        subprocess.run([sys.executable, str(BENCH / "fanout.py"), "--records", str(records), "--subscribers",
                        str(subscribers), "--batches", str(s.fanout_batches), "--shape", shape, "--json", str(target)],
                       check=True, cwd=REPO)
        out[shape] = json.loads(target.read_text())
    return out


def sc_micro(run: Run) -> dict[str, Any]:
    target = run.raw / "micro.json"
    n = 2000 if run.sizes.cold_runs >= 10 else 300
    subprocess.run([sys.executable, str(BENCH / "micro.py"), "--n", str(n), "--json", str(target)], check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict[str, Any] = json.loads(target.read_text())
    return result


RUNNERS: dict[str, Callable[[Run], Any]] = {
    "startup": sc_startup, "memory": sc_memory, "api": sc_api, "post": sc_post, "stream": sc_stream,
    "stall": sc_stall, "official": sc_official, "micro": sc_micro, "coldstart": sc_coldstart, "fanout": sc_fanout,
}
NEEDS_NODE = {"post", "stream", "stall", "official"}


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", action="store_true", help="also run every scenario against Motia 0.17")
    parser.add_argument("--quick", action="store_true", help="small sizes: to try the suite, not to quote")
    parser.add_argument("--only", help="comma-separated scenarios to run")
    parser.add_argument("--skip", help="comma-separated scenarios to leave out")
    parser.add_argument("--out", type=Path, default=BENCH, help="where RESULTS.md, results.json, latency.png go")
    parser.add_argument("--quiet-load", type=float, default=float(os.environ.get("BENCH_QUIET_LOAD", "1.0")))
    parser.add_argument("--quiet-wait", type=float, default=float(os.environ.get("BENCH_QUIET_WAIT", "600")))
    args = parser.parse_args(argv)

    chosen = [s for s in SCENARIOS if (not args.only or s in args.only.split(","))
              and (not args.skip or s not in args.skip.split(","))]
    sizes = QUICK if args.quick else Sizes()
    TMP.mkdir(parents=True, exist_ok=True)
    raw = TMP / f"raw-{time.strftime('%Y%m%d-%H%M%S')}"
    raw.mkdir(parents=True)

    ensure_apt({**({"wrk": "wrk"} if "api" in chosen else {}),
                **({"redis-server": "redis-server", "redis-cli": "redis-tools"} if args.peer else {})})
    have_node = shutil.which("node") is not None and shutil.which("npm") is not None and KIT.is_dir()
    if not have_node:
        skipped = [s for s in chosen if s in NEEDS_NODE]
        if skipped:
            log(f"node/npm or the peer kit ({KIT}) missing: skipping {', '.join(skipped)}")
        chosen = [s for s in chosen if s not in NEEDS_NODE]
        if args.peer:
            raise SystemExit("bench-peer needs node, npm and the peer kit")
    clients = None
    if have_node and set(chosen) & (NEEDS_NODE | {"api"}):
        try:
            clients = clients_folder()
        except RuntimeError as exc:  # no registry: the Node clients cannot be installed
            if args.peer:
                raise
            log(f"{exc}\nskipping {', '.join(s for s in chosen if s in NEEDS_NODE)}")
            chosen = [s for s in chosen if s not in NEEDS_NODE]

    servers: list[Server] = [Ours()]
    peer: Peer | None = None
    if args.peer:
        peer = Peer(peer_folder())
        peer.start_redis()
        servers.append(peer)

    quiet = wait_quiet(args.quiet_load, args.quiet_wait)
    monitor = LoadMonitor().start()
    sampler = RssSampler(servers).start()
    started = dt.datetime.now(dt.UTC)
    run = Run(sizes, servers, clients, monitor, raw)
    try:
        for name in chosen:
            run.scenario(name, lambda name=name: RUNNERS[name](run))
    finally:
        sampler.stop()
        monitor.stop()
        for server in servers:
            server.stop()
        if peer is not None:
            peer.close()

    document = {
        "date": started.isoformat(timespec="seconds"), "finished": dt.datetime.now(dt.UTC).isoformat(
            timespec="seconds"), "quick": args.quick, "peer": args.peer, "peer_version": PEER_VERSION,
        "sizes": sizes.__dict__, "machine": machine(), "quiet": quiet, "load_during_run": monitor.stats(),
        "load_at_end": loadavg(), "peak_rss_during_run": sampler.peak, "scenarios": run.results,
        "raw_dir": str(raw),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
    from report import render_chart, render_markdown  # bench/report.py

    try:
        render_chart(document, raw, args.out / "latency.png")
    except ImportError as exc:  # matplotlib is the bench extra: pip install -e '.[bench]'
        log(f"no chart: {exc}")
    (args.out / "RESULTS.md").write_text(render_markdown(document))
    log(f"wrote {args.out / 'RESULTS.md'}, results.json and latency.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

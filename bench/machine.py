"""The machine the suite runs on: what it is, and how loaded it is before and during each scenario."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings import log


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


_PF_KTHREAD = 0x00200000  # /proc/<pid>/stat flags: a kernel thread
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _user_processes() -> dict[int, tuple[int, int, str]]:
    """Every user process: pid -> (parent pid, CPU ticks used, name). Kernel threads are left out:
    ksoftirqd and the kworkers do the suite's own loopback work, and DAMON has a line of its own."""
    found: dict[int, tuple[int, int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:  # it exited
            continue
        name, fields = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        if int(fields[6]) & _PF_KTHREAD:
            continue
        found[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), name)
    return found


class OtherWork:
    """CPU used by user processes outside the suite's process tree (this process and whatever it
    started), summed between samples: the work that shares the machine with a run. The load average
    cannot tell it apart from the suite's own servers and clients. A process that starts and ends
    between two samples is not seen."""

    def __init__(self, root: int | None = None) -> None:
        self.root = os.getpid() if root is None else root
        self.last = _user_processes()
        self.ticks: dict[str, int] = {}
        self.started = time.monotonic()

    def sample(self) -> None:
        now = _user_processes()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in now.items():
            children.setdefault(ppid, []).append(pid)
        tree, todo = set(), [self.root]
        while todo:
            pid = todo.pop()
            tree.add(pid)
            todo.extend(children.get(pid, ()))
        for pid, (_, ticks, name) in now.items():
            before = self.last.get(pid)
            used = ticks - before[1] if before and before[2] == name else ticks
            if pid not in tree and used > 0:
                self.ticks[name] = self.ticks.get(name, 0) + used
        self.last = now

    def stats(self) -> dict[str, Any]:
        seconds = time.monotonic() - self.started
        cpu_s = sum(self.ticks.values()) * _TICK_S
        busiest = sorted(self.ticks.items(), key=lambda item: -item[1])[:3]
        return {"seconds": round(seconds), "cpu_s": round(cpu_s, 2), "mean_cpus": round(cpu_s / max(seconds, 1), 3),
                "busiest": [[name, round(ticks * _TICK_S, 2)] for name, ticks in busiest]}


class LoadMonitor:
    """Samples the 1-minute load average every second; ``stats(since)`` gives a scenario's min/mean/max.
    With ``other_work``, also the CPU of processes outside the suite (``OtherWork``)."""

    def __init__(self, other_work: bool = False) -> None:
        self.samples: list[tuple[float, float]] = []
        self.other = OtherWork() if other_work else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), load1()))
            if self.other is not None:
                self.other.sample()
            self._stop.wait(1.0)

    def start(self) -> LoadMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def stats(self, since: float = 0.0) -> dict[str, float]:
        xs = [v for t, v in self.samples if t >= since] or [load1()]
        return {"min": min(xs), "mean": round(statistics.fmean(xs), 2), "max": max(xs)}


@dataclass(frozen=True)
class Placement:
    """The CPUs a server (its whole process tree, and the peer's Redis) and the measuring client may
    run on; ``None``: wherever the scheduler puts them."""

    server: frozenset[int] | None = None
    client: frozenset[int] | None = None

    def describe(self) -> str:
        if self.server is None or self.client is None:
            return "shared"
        return f"server {_cpus(self.server)}, client {_cpus(self.client)}"


SHARED = Placement()


def own_cores() -> Placement:
    """The server on the first half of the CPUs this process may use, the client on the rest.

    On a machine of two cores, a loopback fan-out otherwise shares one core between the server and
    the client that reads it: Linux wakes the reader on the writer's core (loopback TCP wakes it as
    a synchronous wake-up), so it reads only once the server has written every frame, while the
    other core idles; and the Node client's own helper threads (V8's compiler, concurrent marking)
    take turns with the server. Real subscribers are on other machines. Shared placement is kept as
    a row of its own."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return SHARED
    half = len(cpus) // 2
    return Placement(frozenset(cpus[:half]), frozenset(cpus[half:]))


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(map(str, sorted(cpus)))


def pinned(command: list[str], cpus: frozenset[int] | None) -> list[str]:
    """``command`` run under ``taskset`` on ``cpus`` (its children inherit them), or as it is."""
    return command if cpus is None else ["taskset", "-c", _cpus(cpus), *command]


def set_affinity(pid: int, cpus: frozenset[int] | None) -> None:
    """Move every thread of a running process to ``cpus`` (``None``: back to the CPUs this process
    may use, as where the scheduler puts it)."""
    target = set(cpus) if cpus is not None else os.sched_getaffinity(0)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), target)
        except OSError:
            pass  # the thread has ended


def wait_quiet(threshold: float, max_wait_s: float) -> dict[str, Any]:
    start = time.time()
    first = loadavg()
    while load1() >= threshold and time.time() - start < max_wait_s:
        log(f"waiting for a quiet machine: load {loadavg()} (want 1-min < {threshold}; "
            f"{int(max_wait_s - (time.time() - start))} s left)")
        time.sleep(min(30.0, max(1.0, max_wait_s - (time.time() - start))))
    return {"load_before_wait": first, "waited_s": round(time.time() - start), "load_at_start": loadavg(),
            "quiet": load1() < threshold, "threshold": threshold}


# One CPU's scheduling stalls: a thread that sleeps 1 ms at a time and records how late each wake-up
# was. Nothing else runs in it, so a late wake-up is the machine's: another task (a kernel thread)
# on that CPU, or the hypervisor not running it.
_STALL_PROBE = """
import json, sys, time
end = time.perf_counter() + float(sys.argv[1])
late = []
while (t := time.perf_counter()) < end:
    time.sleep(0.001)
    late.append((time.perf_counter() - t) * 1000 - 1)
print(json.dumps(late))
"""


def stalls(seconds: float = 10.0) -> dict[str, Any]:
    """How often each CPU stops a task that wants it: the stall probe pinned to every CPU at once (as
    the pinned server and client use them), for ``seconds``. Per CPU: the wake-ups later than 1 ms,
    per second, the latest one and the p99 lateness of all. Plus the kernel's DAMON
    monitor if one runs: its thread wakes every sampling interval and takes the CPU it wakes on."""
    procs = {cpu: subprocess.Popen(pinned([sys.executable, "-c", _STALL_PROBE, str(seconds)], frozenset([cpu])),
                                   stdout=subprocess.PIPE, text=True)
             for cpu in sorted(os.sched_getaffinity(0))}
    per_cpu = {}
    for cpu, proc in procs.items():
        out, _ = proc.communicate(timeout=seconds + 60)
        late = json.loads(out)
        over = sum(1 for x in late if x > 1.0)
        per_cpu[str(cpu)] = {"sleeps": len(late), "late_over_1ms": over,
                             "per_s": round(over / seconds, 2), "max_ms": round(max(late, default=0.0), 2),
                             "p99_late_ms": round(sorted(late)[int(len(late) * 0.99)] if late else 0.0, 3)}
    return {"seconds": seconds, "cpus": per_cpu, "damon": damon()}


def damon() -> list[dict[str, str]]:
    """The running DAMON monitors (sysfs admin interface): their operations set, sampling interval
    and the action of their first scheme. Empty where there is none or it cannot be read."""
    root = Path("/sys/kernel/mm/damon/admin/kdamonds")
    found = []
    for kdamond in sorted(root.glob("[0-9]*")) if root.is_dir() else []:
        if _read(kdamond / "state") != "on":
            continue
        ctx = kdamond / "contexts" / "0"
        found.append({"operations": _read(ctx / "operations"),
                      "sample_us": _read(ctx / "monitoring_attrs" / "intervals" / "sample_us"),
                      "action": _read(ctx / "schemes" / "0" / "action")})
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


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

    import importlib.metadata as metadata

    import starlette
    import uvicorn

    def dist(name: str) -> str:  # uvicorn runs on uvloop and httptools only when they are installed
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "absent"

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(), "uvicorn": uvicorn.__version__,
        "starlette": starlette.__version__, "uvloop": dist("uvloop"),
        "httptools": dist("httptools"), "node": version(["node", "-v"]), "wrk": version(["wrk", "-v"]),
        "redis": version(["redis-server", "--version"]),
    }

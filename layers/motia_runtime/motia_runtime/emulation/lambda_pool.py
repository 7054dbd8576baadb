"""Lambda as AWS runs it, on this machine: each function gets execution environments (worker
processes, ``worker.py``) created on demand, up to a concurrency cap.

- The first invocation of an environment is a cold start (process start + handler import); later
  ones reuse it warm. Under concurrent invocations more environments start, up to ``cap``; beyond
  it an invocation waits for a free one (Lambda would throttle an asynchronous source and retry).
- The template's ``Timeout`` ends an invocation: the environment is killed and the invocation
  fails (``Sandbox.Timedout``); so is one whose memory (RSS) exceeds ``MemorySize``
  (``Runtime.OutOfMemory``). A process that dies mid-invocation fails it (``Runtime.ExitError``);
  a new environment replaces it on the next invocation.
- ``recycle()`` (a code change) retires every environment: the next invocations are cold;
  ``reap(idle_s)`` ends environments idle that long, as Lambda reclaims idle ones.

Workers fork from a server process that has already imported the runtime's heavy modules
(multiprocessing's forkserver with preload), so a cold start costs the handler's own imports and
environments share those pages: several dozen fit in the memory one spawned interpreter per
environment would need for a few.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from . import worker

POLL_S = 0.2  # how often a running invocation's memory is checked
# Libraries every function imports, and the runtime's modules that read no environment at import.
# Missing ones are skipped.
PRELOAD = ["boto3", "botocore.session", "pydantic", "openai", "aws_lambda_powertools.logging",
           "motia_runtime.hosts.aws.bootstrap", "motia_runtime.hosts.aws.api", "motia_runtime.hosts.aws.queue",
           "motia_runtime.project", "motia_runtime.runtime"]
_context_lock = threading.Lock()
_context: Any = None


def _mp_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
        return _context


def start_forkserver() -> None:
    """Start the process environments fork from now, rather than in the first cold start."""
    from multiprocessing import forkserver

    _mp_context()
    forkserver.ensure_running()


@dataclass(frozen=True)
class Invocation:
    """What one invocation did; ``payload`` is the handler's result (ok) or Lambda's error object."""

    function: str
    ok: bool
    payload: Any
    duration_ms: float
    init_ms: float | None  # set on a cold start
    outcome: str  # ok | error | timeout | oom | crash

    @property
    def cold(self) -> bool:
        return self.init_ms is not None

    def log_line(self) -> dict[str, Any]:
        line: dict[str, Any] = {"function": self.function, "durationMs": round(self.duration_ms, 1),
                                "start": "cold" if self.cold else "warm", "result": self.outcome}
        if self.init_ms is not None:
            line["initMs"] = round(self.init_ms, 1)
        if not self.ok:
            line["error"] = f"{self.payload.get('errorType')}: {self.payload.get('errorMessage')}"[:300]
        return line


class _Environment:
    def __init__(self, conn: Connection, process: Any, generation: int) -> None:
        self.conn = conn
        self.process = process
        self.generation = generation
        self.init_error: dict[str, Any] | None = None
        self.init_ms: float | None = None
        self.last_used = time.monotonic()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            return 0.0


class FunctionPool:
    """The environments of one function. ``invoke`` is blocking and thread-safe."""

    def __init__(self, name: str, handler: str, env: dict[str, str], code_root: str, *, timeout_s: float,
                 memory_mb: int, cap: int, on_invoke: Callable[[Invocation], None] | None = None) -> None:
        self.name = name
        self.handler = handler
        self.env = env
        self.code_root = code_root
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.cap = max(1, cap)
        self.on_invoke = on_invoke
        self.started = 0  # environments ever started (cold starts)
        self._idle: list[_Environment] = []
        self._all: set[_Environment] = set()  # busy ones too, so close() can end them
        self._count = 0
        self._generation = 0
        self._closed = False
        self._cond = threading.Condition()

    # -- environments --------------------------------------------------------------------------
    def _acquire(self) -> _Environment | None:
        """A warm environment, or None when the caller may start one (the count is reserved)."""
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError(f"function {self.name} is shut down")
                while self._idle:
                    env = self._idle.pop()
                    if env.generation == self._generation and env.process.is_alive():
                        return env
                    self._count -= 1
                    self._all.discard(env)
                    threading.Thread(target=env.kill, daemon=True).start()
                if self._count < self.cap:
                    self._count += 1
                    return None
                self._cond.wait()

    def _release(self, env: _Environment | None, healthy: bool) -> None:
        with self._cond:
            if env is not None and not (healthy and not self._closed and env.generation == self._generation):
                self._all.discard(env)
            if env is not None and healthy and not self._closed and env.generation == self._generation:
                env.last_used = time.monotonic()
                self._idle.append(env)
            else:
                self._count -= 1
                if env is not None:
                    threading.Thread(target=env.kill, daemon=True).start()
            self._cond.notify()

    def _start(self) -> _Environment:
        ctx = _mp_context()
        parent, child = ctx.Pipe()
        env = {**self.env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb)}
        process = ctx.Process(target=worker.main, args=(child, env, self.handler, self.code_root),
                              name=f"lambda-{self.name}", daemon=True)
        started = time.perf_counter()
        process.start()
        child.close()
        environment = _Environment(parent, process, self._generation)
        with self._cond:
            self._all.add(environment)
        self.started += 1
        try:
            if not parent.poll(max(self.timeout_s, 10.0)):  # Lambda's init phase has its own 10 s limit
                raise EOFError
            _, _, error = parent.recv()
        except (EOFError, OSError):
            error = {"errorType": "Runtime.ExitError", "errorMessage": "the environment did not start"}
        environment.init_ms = (time.perf_counter() - started) * 1000
        environment.init_error = error
        return environment

    # -- invoking ------------------------------------------------------------------------------
    def invoke(self, event: dict[str, Any]) -> Invocation:
        env = self._acquire()
        init_ms = None
        if env is None:
            try:
                env = self._start()
            except BaseException:
                self._release(None, False)
                raise
            init_ms = env.init_ms
        started = time.perf_counter()
        if env.init_error is not None:
            self._release(env, False)
            return self._done(False, env.init_error, started, init_ms, "error")
        healthy, ok, payload, outcome = self._run(env, event)
        self._release(env, healthy)
        return self._done(ok, payload, started, init_ms, outcome)

    def _run(self, env: _Environment, event: dict[str, Any]) -> tuple[bool, bool, Any, str]:
        """(environment reusable, ok, payload, outcome)."""
        deadline = time.time() + self.timeout_s
        request_id = str(uuid.uuid4())
        try:
            env.conn.send((request_id, json.dumps(event), deadline))
            while not env.conn.poll(POLL_S):
                if time.time() >= deadline:
                    return False, False, {"errorType": "Sandbox.Timedout", "errorMessage":
                                          f"Task timed out after {self.timeout_s:.2f} seconds"}, "timeout"
                if env.rss_mb() > self.memory_mb:
                    return False, False, {"errorType": "Runtime.OutOfMemory", "errorMessage":
                                          f"Runtime exited: memory over {self.memory_mb} MB"}, "oom"
            kind, value = env.conn.recv()
        except (EOFError, OSError):
            env.process.join(timeout=1)
            code = env.process.exitcode
            return False, False, {"errorType": "Runtime.ExitError",
                                  "errorMessage": f"Runtime exited with error: exit status {code}"}, "crash"
        if kind == "ok":
            return True, True, json.loads(value), "ok"
        return True, False, value, "error"

    def _done(self, ok: bool, payload: Any, started: float, init_ms: float | None, outcome: str) -> Invocation:
        result = Invocation(self.name, ok, payload, (time.perf_counter() - started) * 1000, init_ms, outcome)
        if self.on_invoke is not None:
            self.on_invoke(result)
        return result

    # -- lifecycle -----------------------------------------------------------------------------
    def recycle(self) -> None:
        """Retire every environment (new code): idle ones now, busy ones when they finish."""
        with self._cond:
            self._generation += 1
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._all.difference_update(idle)
            self._cond.notify_all()
        for env in idle:
            env.kill()

    def reap(self, idle_s: float) -> int:
        """End the environments idle for ``idle_s`` or more; returns how many."""
        cutoff = time.monotonic() - idle_s
        with self._cond:
            old = [env for env in self._idle if env.last_used <= cutoff]
            self._idle = [env for env in self._idle if env.last_used > cutoff]
            self._count -= len(old)
            self._all.difference_update(old)
            self._cond.notify_all()
        for env in old:
            env.kill()
        return len(old)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            every, self._idle = list(self._all), []
            self._all.clear()
            self._cond.notify_all()
        for env in every:  # busy ones too: their invocations fail as the process ends
            env.kill()

    @property
    def environments(self) -> int:
        with self._cond:
            return self._count

"""``motia dev --workers N``: each worker accepts from a listening socket of its own.

uvicorn binds one socket in its supervisor and every worker accepts from it, so whichever
worker's loop wakes first takes the connection: under ``wrk -c32`` one worker served 22 of 32
connections and the other 10 (bench/optimisations.md). On Linux, N sockets bound to the same
address with ``SO_REUSEPORT`` are one group whose listening sockets the kernel hashes new
connections across, evenly. So the supervisor binds N of them and each worker, as it starts,
claims one (an ``flock`` on a file per socket, released by the kernel when the worker dies, so
its replacement takes the same socket) and closes the others. A worker that finds every socket
claimed (a replacement started while the worker it replaces still runs, uvicorn's SIGHUP
restart) serves them all, as uvicorn would: a socket of the group is never left unserved.

The supervisor is uvicorn's own (its health checks, restarts and signals); only the process
class it starts is ours. Elsewhere (other systems, where ``SO_REUSEPORT`` either does not exist
or does not balance, a port chosen by the system, a Unix socket) uvicorn's shared socket is
used as before.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

PR_SET_PDEATHSIG = 1  # linux/prctl.h
_claimed: list[int] = []  # the worker's lock file, held open for as long as it runs


def balanced(config: uvicorn.Config) -> bool:
    """Whether the workers can each have a socket the kernel balances connections across."""
    return (sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT") and config.workers > 1
            and config.port != 0 and not config.uds and config.fd is None)


def listener(config: uvicorn.Config) -> socket.socket:
    """A socket bound as uvicorn's ``Config.bind_socket`` binds one, in the port's reuse group."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def claim(sockets: list[socket.socket], lock_dir: str) -> list[socket.socket]:
    """The first socket no other live worker holds (the others closed in this process), or all."""
    for i, sock in enumerate(sockets):
        fd = os.open(os.path.join(lock_dir, f"socket-{i}"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _claimed.append(fd)
        for other in sockets:
            if other is not sock:
                other.close()
        return [sock]
    return sockets


def die_with(parent: int) -> None:
    """Have the kernel send this process SIGTERM (a graceful stop) when ``parent`` dies.

    Without it, workers whose supervisor was killed (SIGKILL, the OOM killer) went on serving the
    port, running cron steps and events, with nobody to stop them but a kill of each one."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        return  # not available: the worker lives on, as uvicorn's do
    if os.getppid() != parent:  # it died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)


class OwnSocketProcess(multiprocess.Process):
    """uvicorn's worker process, serving the socket it claims (see the module docstring), and
    stopping when the supervisor dies (:func:`die_with`)."""

    run_lock_dir = ""  # set by :func:`run` in the supervisor while it runs

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        # Attributes of the instance: they travel to the worker with the target it runs.
        self.lock_dir = type(self).run_lock_dir
        self.supervisor = os.getpid()
        super().__init__(config, sockets)

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover - a child
        die_with(self.supervisor)
        if sockets and self.lock_dir:
            sockets = claim(sockets, self.lock_dir)
        super().target(sockets)


def run(app: Any, **options: Any) -> int:
    """``uvicorn.run(app, **options)`` (an import string, ``workers`` > 1), each worker on its own
    socket where the kernel balances them. Returns the exit status: uvicorn's ``STARTUP_FAILURE``
    when a worker failed to start (uvicorn then stops them all, yet its own ``run`` exits 0 with
    more than one worker; a script or service manager must see the failure)."""
    config = uvicorn.Config(app, **options)
    if not balanced(config):
        uvicorn.run(app, **options)
        return 0
    # The port is free: motia dev checked it with a plain bind (cli/args.unlistenable), which a group of
    # SO_REUSEPORT sockets refuses, so a second motia dev --workers cannot join the first one's group.
    sockets = [listener(config) for _ in range(config.workers)]
    lock_dir = tempfile.mkdtemp(prefix="motia-workers-")
    # uvicorn's supervisor names its worker class as a module global: ours while this process
    # supervises (it does nothing else meanwhile), then uvicorn's again.
    saved = multiprocess.Process
    OwnSocketProcess.run_lock_dir = lock_dir
    multiprocess.Process = OwnSocketProcess  # type: ignore[misc]
    supervisor = multiprocess.Multiprocess(config, sockets=sockets)
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        multiprocess.Process = saved  # type: ignore[misc]
        OwnSocketProcess.run_lock_dir = ""
        for sock in sockets:
            sock.close()
        shutil.rmtree(lock_dir, ignore_errors=True)
    failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
    return STARTUP_FAILURE if failed else 0

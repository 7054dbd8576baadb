"""``motia dev``'s reload supervisor: uvicorn's, except that it watches from before the worker starts.

uvicorn's ``WatchFilesReload`` holds a ``watchfiles.watch`` generator, and a generator's watcher
(the inotify watches) only exists from its first ``next()``, which uvicorn makes a ``reload_delay``
*after* spawning the worker, and later still on a busy machine. A file saved in that gap, e.g.
as soon as the server first answered, was never seen: the server kept serving the old code until
the next save. Here the watcher is created before the first worker is spawned and lives as long
as the supervisor, so every change made from then on is either in the code a worker loaded or
in the watcher's queue (the kernel keeps inotify events even while the supervisor is not
scheduled).

The watcher is watchfiles' ``RustNotify``, the backend its ``watch`` wraps (documented as the
way to use it directly). It is waited on without a timeout: watchfiles empties its change set on
a timeout, and a change landing between its check and that clear would be lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from socket import socket
from typing import Any

import uvicorn
from uvicorn.supervisors.watchfilesreload import WatchFilesReload
from watchfiles import Change
from watchfiles._rust_notify import RustNotify

DEBOUNCE_MS = 1_600  # watchfiles' default: a save that writes several files is one restart
STEP_MS = 50


def _force_polling() -> bool:
    # watchfiles' own switch, honoured as its watch() does (polling where inotify is not available).
    value = os.environ.get("WATCHFILES_FORCE_POLLING", "")
    return bool(value) and value.lower() not in ("false", "disable", "disabled")


class EagerWatchReload(WatchFilesReload):
    def __init__(self, config: uvicorn.Config, target: Callable[[list[socket] | None], None],
                 sockets: list[socket]) -> None:
        super().__init__(config, target, sockets)  # its watch() generator is never started
        notify = RustNotify([str(p) for p in self.reload_dirs], False, _force_polling(), 300, True, True)
        self.watcher = self._changes(notify)

    def _changes(self, notify: RustNotify) -> Generator[set[tuple[Change, str]], None, None]:
        """Raw change sets, as uvicorn's ``should_restart`` reads them, until the supervisor stops."""
        with notify:
            while True:
                changes = notify.watch(DEBOUNCE_MS, STEP_MS, 0, self.should_exit)
                if isinstance(changes, str):  # 'stop' (should_exit set) or 'signal'
                    return
                yield {(Change(change), path) for change, path in changes}  # as watchfiles.watch gives them


def run_reloading(app: str, **options: Any) -> None:
    """``uvicorn.run(app, reload=True, **options)`` with :class:`EagerWatchReload` as the supervisor."""
    config = uvicorn.Config(app, reload=True, **options)
    server = uvicorn.Server(config)
    sock = config.bind_socket()
    try:
        EagerWatchReload(config, target=server.run, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass

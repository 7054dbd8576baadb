"""A Lambda cold start without the cyclic garbage collector.

Importing an entry point and building its runtime allocates some 50,000 objects that live as
long as the container (modules, classes, pydantic validators) and almost no cyclic garbage
(~700 objects, ~180 KB). The collector, triggered every 700 allocations, traverses them again
and again as they pile up: a few percent of the cold start (bench/optimisations.md). On Lambda
(``AWS_LAMBDA_RUNTIME_API`` is set there), the entry points pause it from the import of
``motia_runtime.hosts.aws`` until the end of the entry module (the fan-out's: until its handler's
first call into ``bootstrap``), and again while ``bootstrap.runtime()`` loads the project. At the
end of each pause what was built is moved out of the collector's sight (``gc.freeze()``), so
later collections do not traverse it either, and the collector is switched back on. The handful
of cycles made during a pause are kept, not freed.

The same pause serves ``dataclasses``' generated methods from the code the build compiled
(_dataclass_code.py), so a cold start does not parse and compile them again.

Nothing changes where the variable is not set (tests, ``motia dev``, a process that imports the
entry points for another purpose), nor when the collector was already off.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

from . import _dataclass_code

ON_LAMBDA = "AWS_LAMBDA_RUNTIME_API"

_paused = False


def pause() -> None:
    """Switch the collector off, on Lambda, if it is on (until ``resume()``)."""
    global _paused
    if not _paused and os.environ.get(ON_LAMBDA) and gc.isenabled():
        gc.disable()
        _paused = True
        _dataclass_code.install()


def resume() -> None:
    """End a ``pause()``: what exists now is frozen, and the collector is back on."""
    global _paused
    if _paused:
        _paused = False
        _dataclass_code.uninstall()
        gc.freeze()
        gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (on Lambda), then as ``resume()`` leaves it."""
    pause()
    try:
        yield
    finally:
        resume()

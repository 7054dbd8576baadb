"""The methods ``dataclasses`` generates, compiled at build time instead of at each cold start.

On Python 3.11 (the Lambda runtime here), ``@dataclass`` writes each method it adds
(``__init__``, ``__repr__``, ``__eq__``, ``__setattr__``...) as source text and ``exec``s it, one
parse and one compile per method. An API function's cold start creates ~230 of them (pydantic's
own dataclasses, ours): callgrind counts ~110 M of its ~715 M instructions in those ``exec``
calls (bench/optimisations.md, cold start row 23). The text depends only on the class (its
fields, their defaults' names, the options), so its code object is the same every time.

``motia build`` (tools/layers.py, :func:`record`) imports what the entry points import, in the
Lambda runtime's Python version, and writes each text and its compiled code into the runtime
layer (``DATACLASS_CODE``, a ``marshal`` file stamped with the bytecode magic number). On Lambda,
while the cold start's garbage-collector pause lasts (_gc.py), ``dataclasses`` runs that code
for a text it knows and compiles any other text as usual: a class the build did not see (a
step's own dataclass, another version of a package) is created exactly as before. Without the
file, with a file from another Python version, or off Lambda, nothing changes.
"""

from __future__ import annotations

import builtins
import marshal
import os
from typing import Any

FILE = "DATACLASS_CODE"
_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), FILE)

_codes: dict[str, Any] | None = None


def _magic() -> bytes:
    import _frozen_importlib_external  # always loaded: the import system itself

    return _frozen_importlib_external.MAGIC_NUMBER


def _load() -> dict[str, Any]:
    try:
        with open(_PATH, "rb") as f:
            magic, codes = marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):  # no file (not built by motia build), or unreadable
        return {}
    return codes if magic == _magic() and isinstance(codes, dict) else {}


def _exec(source: Any, globals: Any = None, locals: Any = None) -> None:
    code = _codes.get(source) if _codes and isinstance(source, str) else None
    builtins.exec(source if code is None else code, globals, locals)  # as dataclasses would, or its recorded code


def install() -> None:
    """Serve ``dataclasses``' generated methods from the layer's file (until :func:`uninstall`)."""
    global _codes
    if _codes is None:
        _codes = _load()
    if _codes:
        import dataclasses

        dataclasses.exec = _exec  # type: ignore[attr-defined]  # shadows the builtin for that module only


def uninstall() -> None:
    import sys

    dataclasses = sys.modules.get("dataclasses")
    if dataclasses is not None and getattr(dataclasses, "exec", None) is _exec:
        del dataclasses.exec


def record(statements: str) -> bytes:
    """Run ``statements`` (imports) here, and return the ``DATACLASS_CODE`` file's bytes: every
    text ``dataclasses`` ``exec``ed meanwhile, compiled as ``exec`` compiles it (no inherited
    ``__future__`` flags: dataclasses.py has none)."""
    import dataclasses

    seen: dict[str, Any] = {}

    def recording(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            seen[source] = compile(source, "<string>", "exec", dont_inherit=True)
        builtins.exec(source, globals, locals)

    dataclasses.exec = recording  # type: ignore[attr-defined]
    try:
        builtins.exec(statements, {"__name__": "__motia_record__"})
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
    return marshal.dumps((_magic(), seen))

"""What the project loader can tell a user about their files beyond "it loaded":

- the line a :class:`ConfigError` points to (the failing line of an import, the key of a
  ``config`` field, the ``def handler``), for ``motia dev``'s 503 answer and the Workbench;
- files under ``functions/`` and ``streams/`` that look like steps or streams but are never
  loaded, because of their name (``x.step.py``, Motia's TypeScript naming, or ``x-step.py``) or
  their place (a ``*_stream.py`` under ``functions/``), each with the name that would load.

Files are read with :mod:`ast`, never imported: a helper module is not run to be looked at.
"""

from __future__ import annotations

import ast
import re
import traceback
from pathlib import Path

from .errors import ConfigError


def _tree(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def _config_value(tree: ast.Module) -> ast.Assign | ast.AnnAssign | None:
    """The node a module-level ``config = ...`` (or ``config: T = ...``) assigns, if any."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "config" for t in node.targets):
            return node
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "config":
            return node
    return None


def _defines(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def import_line(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` an import failed on: the syntax error's, or the file's last frame."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path.resolve():
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename and Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    return line


def field_line(path: Path, field: str | None) -> int | None:
    """The line of ``field`` in ``path``: its key in a literal ``config`` dict, else the ``config``
    assignment; ``handler`` is the ``def handler`` line."""
    tree = _tree(path)
    if tree is None:
        return None
    if field in ("handler", "authenticate") and (node := _defines(tree, field)) is not None:
        return node.lineno
    assign = _config_value(tree)
    if assign is None:
        return None
    value = assign.value
    top = re.split(r"[.\[]", field or "", maxsplit=1)[0]
    if isinstance(value, ast.Dict) and top:
        for key in value.keys:
            if isinstance(key, ast.Constant) and key.value == top:
                return key.lineno
    return assign.lineno


def locate(exc: ConfigError, path: Path) -> ConfigError:
    """Fill in ``exc.line`` from ``path`` when it is not known yet; returns ``exc``."""
    if exc.line is None:
        exc.line = field_line(path, exc.field)
    return exc


def _looks_like_step(tree: ast.Module) -> bool:
    return _config_value(tree) is not None and _defines(tree, "handler") is not None


def _looks_like_stream(tree: ast.Module) -> bool:
    return _config_value(tree) is not None and _defines(tree, "handler") is None


def _suggested(path: Path, suffix: str) -> str:
    """``x.step.py``, ``x-step.py``, ``xStep.py``, ``x.py`` -> ``x_step.py`` (``suffix`` is ``step``)."""
    stem = path.name[:-3]  # without .py
    stem = re.sub(rf"[._-]?{suffix}$", "", stem, flags=re.IGNORECASE) or suffix
    stem = re.sub(r"[^0-9A-Za-z_]", "_", stem)
    return f"{stem}_{suffix}.py"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def lookalike_warnings(root: Path, functions: Path, streams: Path, step_glob: str, stream_glob: str,
                       ignore: set[Path]) -> list[str]:
    """Warnings for files that look like steps or streams but will not be loaded."""
    warnings: list[str] = []
    places = ((functions, "step", step_glob, _looks_like_step), (streams, "stream", stream_glob, _looks_like_stream))
    for folder, kind, glob, looks_like in places:
        if not folder.is_dir():
            continue
        loaded = set(folder.rglob(glob))
        for path in sorted(folder.rglob("*.py")):
            if path in loaded or path in ignore or "__pycache__" in path.parts:
                continue
            named_like = re.search(rf"[.\-]{kind}\.py$|{kind.capitalize()}\.py$", path.name) is not None
            other_kind = "stream" if kind == "step" else "step"
            if path.name.endswith(f"_{other_kind}.py"):
                home = "functions/" if other_kind == "step" else "streams/"
                warnings.append(f"{_relative(path, root)}: not loaded: a {other_kind} file is loaded from {home} "
                                f"only (move it there)")
                continue
            tree = None if named_like else _tree(path)
            if named_like or (tree is not None and looks_like(tree)):
                warnings.append(f"{_relative(path, root)}: not loaded: {kind} files must be named *_{kind}.py "
                                f"(rename it to {_suggested(path, kind)})")
    return warnings

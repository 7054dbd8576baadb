"""Atomic update operations for stream items (Motia 1.0's ``update(group, id, ops)``).

An op is ``{"type": "set"|"merge"|"increment"|"decrement"|"remove", "path": "a.b", ...}``;
``set`` and ``merge`` take ``value``, ``increment`` and ``decrement`` take ``by`` (default 1).
An empty path means the item itself (only ``merge`` and ``set`` accept it).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import StreamError


def _walk(doc: dict[str, Any], parts: list[str], create: bool) -> dict[str, Any] | None:
    """The object holding the path's leaf; None when a part is missing and not ``create``."""
    node = doc
    for part in parts:
        child = node.get(part)
        if child is None:
            if not create:
                return None
            child = node[part] = {}
        if not isinstance(child, dict):
            raise StreamError(f"cannot descend into {part!r}: it holds {type(child).__name__}, not an object")
        node = child
    return node


def _number(value: Any) -> bool:
    # bool is an int subclass: True + 1 would store 2 in place of a flag.
    return isinstance(value, int | float) and not isinstance(value, bool)


def apply_ops(current: dict[str, Any] | None, ops: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if isinstance(ops, str | bytes | Mapping) or not isinstance(ops, Sequence):
        raise StreamError(f"update ops must be a list of ops, got {type(ops).__name__}")
    doc: dict[str, Any] = copy.deepcopy(current) if current else {}
    for index, op in enumerate(ops):
        try:
            doc = _apply(doc, op)
        except StreamError as exc:  # which op of the list, for a caller that built it in a loop
            raise StreamError(f"update op {index}: {exc}") from None
    return doc


def _apply(doc: dict[str, Any], op: Any) -> dict[str, Any]:
    if not isinstance(op, Mapping):
        raise StreamError(f"an op must be an object with a type, got {type(op).__name__}")
    kind = op.get("type")
    path = op.get("path") or ""
    if not isinstance(path, str):  # a list would become the key "['a', 'b']"
        raise StreamError(f"path must be a dot-separated string like 'a.b', got {type(path).__name__}")
    parts = [p for p in path.split(".") if p]
    if kind in ("set", "merge") and not parts:
        value = op.get("value")
        if not isinstance(value, dict):
            raise StreamError(f"{kind} on the whole item needs an object value")
        return {**doc, **value} if kind == "merge" else dict(value)
    if not parts:
        raise StreamError(f"update op {kind!r} needs a path")
    parent = _walk(doc, parts[:-1], create=kind != "remove")
    leaf = parts[-1]
    if parent is None:  # remove under a path that does not exist: nothing to remove
        return doc
    if kind == "set":
        parent[leaf] = op.get("value")
    elif kind == "merge":
        value = op.get("value")
        existing = parent.get(leaf)
        # A missing (or null) field starts empty; any other non-object (0, "", []) is refused,
        # not silently replaced.
        if existing is None:
            existing = {}
        if not isinstance(value, dict) or not isinstance(existing, dict):
            raise StreamError(f"merge at {path!r} needs objects on both sides, "
                              f"got {type(existing).__name__} and {type(value).__name__}")
        parent[leaf] = {**existing, **value}
    elif kind in ("increment", "decrement"):
        by = op.get("by", 1)
        existing = parent.get(leaf, 0)
        if not _number(existing) or not _number(by):
            raise StreamError(f"{kind} at {path!r} needs numbers, got {type(existing).__name__} "
                              f"and by={type(by).__name__}")
        parent[leaf] = existing + by if kind == "increment" else existing - by
    elif kind == "remove":
        parent.pop(leaf, None)
    else:
        raise StreamError(f"unknown update op type {kind!r}; use set, merge, increment, decrement or remove")
    return doc

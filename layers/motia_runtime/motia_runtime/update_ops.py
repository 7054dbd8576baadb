"""Atomic update operations for stream items (Motia 1.0's ``update(group, id, ops)``).

An op is ``{"type": "set"|"merge"|"increment"|"decrement"|"remove", "path": "a.b", ...}``;
``set`` and ``merge`` take ``value``, ``increment`` and ``decrement`` take ``by`` (default 1).
An empty path means the item itself (only ``merge`` and ``set`` accept it).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from .errors import StreamError


def _walk(doc: dict[str, Any], parts: list[str], create: bool) -> dict[str, Any]:
    node = doc
    for part in parts:
        child = node.get(part)
        if child is None and create:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise StreamError(f"cannot descend into {part!r}: it is not an object")
        node = child
    return node


def apply_ops(current: dict[str, Any] | None, ops: Sequence[dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(current) if current else {}
    for op in ops:
        kind = op.get("type")
        path = str(op.get("path") or "")
        parts = [p for p in path.split(".") if p]
        if kind in ("set", "merge") and not parts:
            value = op.get("value")
            if not isinstance(value, dict):
                raise StreamError(f"{kind} on the whole item needs an object value")
            doc = {**doc, **value} if kind == "merge" else dict(value)
            continue
        if not parts:
            raise StreamError(f"update op {kind!r} needs a path")
        parent = _walk(doc, parts[:-1], create=kind != "remove")
        leaf = parts[-1]
        if kind == "set":
            parent[leaf] = op.get("value")
        elif kind == "merge":
            value = op.get("value")
            existing = parent.get(leaf) or {}
            if not isinstance(value, dict) or not isinstance(existing, dict):
                raise StreamError(f"merge at {path!r} needs objects on both sides")
            parent[leaf] = {**existing, **value}
        elif kind in ("increment", "decrement"):
            by = op.get("by", 1)
            existing = parent.get(leaf, 0)
            if not isinstance(existing, (int, float)) or not isinstance(by, (int, float)):
                raise StreamError(f"{kind} at {path!r} needs numbers")
            parent[leaf] = existing + by if kind == "increment" else existing - by
        elif kind == "remove":
            parent.pop(leaf, None)
        else:
            raise StreamError(f"unknown update op type {kind!r}; use set, merge, increment, decrement or remove")
    return doc

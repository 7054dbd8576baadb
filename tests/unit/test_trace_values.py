"""hosts/local/traces.py ``jsonable``: a span's small trigger dict is copied without encoding it, and
comes out as pydantic's conversion would give it; anything larger still goes through pydantic (and a
large value still becomes a preview)."""

from __future__ import annotations

from typing import Any

import pydantic_core
import pytest

from motia_runtime.hosts.local.traces import MAX_VALUE_CHARS, jsonable

SMALL: list[dict[str, Any]] = [
    {"type": "api", "path": "/ping"},
    {"type": "event", "topic": "pet.created"},
    {"type": "cron", "cron": "*/5 * * * *", "n": 3, "ok": True},
    {"type": "x", "none": None, "f": 1.5},
    {"😀" * 32: "😀" * 32, "a" * 32: "b" * 32, "c" * 32: "d" * 32, "e" * 32: "f" * 32},  # the longest escapes
]
LARGER: list[Any] = [
    {1: "int key"}, {"k": ["a", "list"]}, {"k": {"nested": 1}}, {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5},
    {"k": "x" * 33}, {"k": 10**16},
]


@pytest.mark.parametrize("value", SMALL + LARGER)
def test_jsonable_equals_pydantics_conversion(value: Any) -> None:
    out = jsonable(value)
    assert out == pydantic_core.to_jsonable_python(value)
    assert out is not value  # a copy: the span keeps its own
    assert len(pydantic_core.to_json(out)) <= MAX_VALUE_CHARS


def test_a_large_dict_is_still_a_preview() -> None:
    value = {f"k{i}": "x" * 300 for i in range(40)}
    out = jsonable(value)
    assert set(out) == {"__truncated__", "preview"}

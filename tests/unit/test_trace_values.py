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


DETAILS: list[dict[str, Any]] = [
    {"op": "set", "stream": "items", "groupId": "g1", "id": "a", "data": {"n": 1, "label": "progress"}},
    {"op": "set", "stream": "items", "groupId": "g1", "id": "a", "data": {"big": "x" * 5000}},  # a preview
    {"op": "set", "stream": "items", "groupId": "g1", "id": "a", "data": {"k": "y" * 3000}, "ttl": 1.5},
    {"op": "update", "ops": [{"type": "set", "path": "n", "value": 10**16}], "note": "z" * 400},
    {"op": "send", "event": {"type": "t", "data": [1, 2.5, None, True]}, "when": b"raw bytes"},
]


@pytest.mark.parametrize("detail", DETAILS)
def test_an_operation_event_is_what_value_by_value_recording_gives(detail: dict[str, Any]) -> None:
    """``operation`` encodes a small event at once (_encode_small); the event kept must be the one
    the value-by-value path (``_event_value`` on each detail) would have kept."""
    import json

    from motia_runtime.hosts.local.traces import _SHORT, TraceRecorder, _event_value

    recorder = TraceRecorder()
    recorder.step_started("T", "S", {"type": "api"})
    recorder.operation("T", "S", "stream", detail)
    (event,) = [e for e in recorder.trace("T")["events"] if e["kind"] == "stream"]
    expected = {key: value if type(value) is str and len(value) <= _SHORT else _event_value(value)
                for key, value in detail.items()}
    assert {k: event[k] for k in detail} == json.loads(pydantic_core.to_json(expected, fallback=repr))

"""The JSON policy itself (motia_runtime/jsonsafe.py); the hosts' use of it is tested over real
sockets in tests/local/test_json_policy.py and tests/aws/test_bad_input.py."""

from __future__ import annotations

import math

import pydantic_core
import pytest

from motia_runtime import jsonsafe
from motia_runtime.errors import MotiaError, ValidationError


@pytest.mark.parametrize("text, reason", [
    ("1" * 4301, "4301 digits, over the 4300-digit limit"),
    ("-" + "9" * 5000, "5000 digits"),
    ("[" * 202 + "]" * 202, "nesting over 200 levels deep"),
    ('{"a":' * 500 + "1" + "}" * 500, "nesting over 200 levels deep"),
    ("[" * 100_000, "nesting over 200 levels deep"),
    ('{"a": NaN}', "NaN, which is not JSON"),
    ("[-Infinity]", "-Infinity, which is not JSON"),
    ("1e400", "the number 1e400, out of a double's range"),
    ('{"a": ["\\udc00"]}', "a lone surrogate (\\udc00) in a string at a.0"),
    ('{"\\ud800": 1}', "a key holding a lone surrogate"),
    ("{nope", "Expecting property name enclosed in double quotes (line 1, column 2)"),
])
def test_loads_refuses_with_the_reason(text: str, reason: str) -> None:
    for raw in (text, text.encode()):
        with pytest.raises(jsonsafe.InvalidJSONError) as refused:
            jsonsafe.loads(raw, what="frame")
        assert reason in refused.value.reason and str(refused.value).startswith("the frame ")
        assert isinstance(refused.value, MotiaError)


def test_loads_accepts_what_is_inside_the_limits() -> None:
    assert jsonsafe.loads("1" * 4300) == int("1" * 4300)
    assert jsonsafe.loads("[" * 200 + "]" * 200) is not None
    assert jsonsafe.loads(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}  # as json.loads takes it
    assert jsonsafe.loads('{"sku": "E123", "n": 1e300, "big": ' + "9" * 400 + "}")["n"] == 1e300
    assert jsonsafe.loads('"\\ud83d\\ude00 ok"') == "\U0001f600 ok"  # a surrogate pair is one character
    assert jsonsafe.loads(b'{"a": 1.5e308, "b": -0.0}') == {"a": 1.5e308, "b": -0.0}
    with pytest.raises(jsonsafe.InvalidJSONError, match="11 bytes, over the 10-byte limit"):
        jsonsafe.loads('"123456789"', max_bytes=10)
    with pytest.raises(jsonsafe.InvalidJSONError, match="not UTF-8"):
        jsonsafe.loads(b'"\xff"')


def _deep(levels: int) -> object:
    value: object = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("value, field, problem", [
    (math.nan, "", "nan"), ({"a": [1, math.inf]}, "a.1", "inf"), ({"k": "x\ud800"}, "k", "lone surrogate"),
    ([10**4300], "0", "4300 digits"), ({"a": 1, "deep": _deep(2000)}, "", "200 levels"),
])
def test_check_names_the_field(value: object, field: str, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        jsonsafe.check(value, "state value 'g'/'k'")
    assert str(refused.value).startswith("state value 'g'/'k' cannot be stored as JSON")
    assert refused.value.errors[0]["field"] == field and problem in refused.value.errors[0]["message"]


def test_stored_values_read_back_as_a_browser_writes_them() -> None:
    assert jsonsafe.loads_stored('{"a": NaN, "b": [Infinity, -Infinity], "c": "x\\ud800"}') == {
        "a": None, "b": [None, None], "c": "x\ufffd"}
    assert jsonsafe.loads_stored('{"NaN": "Infinity"}') == {"NaN": "Infinity"}  # words in strings stay
    assert jsonsafe.dumps_tolerant({"a": math.nan, "b": "\udc00"}) == '{"a":null,"b":"\ufffd"}'.encode()
    assert jsonsafe.dumps_tolerant({"é": 1}) == '{"é":1}'.encode()


def test_the_python_client_ignores_frames_outside_the_policy() -> None:
    from motia_runtime.client.frames import parse_server_frame

    for raw in ("[" * 100_000, '{"timestamp": ' + "1" * 5000 + "}", b"\xff"):
        assert parse_server_frame(raw) is None
    good = '{"timestamp": 1, "streamName": "s", "groupId": "g", "event": {"type": "sync", "data": []}}'
    assert parse_server_frame(good) is not None


@pytest.mark.parametrize("value, field, problem", [
    ({"a": [1, math.inf]}, "a.1", "inf"), ({"n": -math.inf}, "n", "inf"), ({"k": "x\ud800"}, "k", "lone surrogate"),
    ({"v": [10**4300]}, "v.0", "4300 digits"), ({"a": 1, "deep": _deep(2000)}, "", "200 levels"),
])
def test_encode_refuses_as_check_does_naming_the_field(value: object, field: str, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        jsonsafe.encode(value, lambda: "stream 'items' item 'g'/'i'")
    assert str(refused.value).startswith("stream 'items' item 'g'/'i' cannot be stored as JSON")
    assert refused.value.errors[0]["field"] == field and problem in refused.value.errors[0]["message"]


def test_encode_gives_the_json_the_stores_wrote() -> None:
    for value in ({"n": 1, "label": "é"}, {"word": "NaN", "other": "Infinity"}, {"big": 10**4299, "f": 0.1},
                  {"b": b"x"}, {"t": (1, 2)}):
        assert jsonsafe.encode(value, lambda: "x") == pydantic_core.to_json(value)
    with pytest.raises(ValueError, match="Unable to serialize"):  # as the store's own encoder raised
        jsonsafe.encode({"o": object()}, lambda: "x")

"""The one JSON policy: what every decoder accepts, what every write may hold, how stored values
are read back.

Every body and frame the runtime decodes (API step bodies on both hosts, the Workbench's
endpoints, stream WebSocket frames, SQS envelopes) goes through :func:`loads`, and every value a
step or the Workbench writes to state or a stream goes through :func:`check`. Both refuse, with a
:class:`~motia_runtime.errors.ValidationError` naming the problem and where it is, what JSON
cannot carry faithfully or what would crash a later encoder:

* nesting deeper than :data:`MAX_DEPTH` levels (Python's ``json`` and jsonschema recurse per
  level, so ``[[[[…`` would otherwise be a RecursionError at some later, deeper call); on writes,
  only nesting too deep to encode is refused;
* integers over :data:`MAX_INT_DIGITS` digits (Python's own conversion limit, so a stored value
  can always be encoded again; larger ones raise ValueError in ``int()``/``str()``);
* ``NaN``, ``Infinity`` and numbers out of a double's range such as ``1e400`` (not JSON: browsers'
  ``JSON.parse`` refuses them, and Starlette's responses raise on them);
* strings holding a lone UTF-16 surrogate such as ``"\\ud800"`` (JSON's escape allows it, but no
  UTF-8 encoder does).

Values stored by an older version may hold some of these; :func:`loads_stored` reads them back
as a browser's ``JSON.stringify`` would have written them (non-finite numbers as ``null``, lone
surrogates as U+FFFD), so reading never fails, and :func:`dumps_tolerant` does the same for
responses that show whatever was recorded (the Workbench).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import pydantic_core

from .errors import ValidationError

MAX_DEPTH = 200  # pydantic-core's parser stops there (an array of exactly 201 levels still passes)
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS
# A JSON escape of a UTF-16 surrogate (\uD800-\uDFFF); only text holding one can decode to a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJSONError(ValidationError):
    """A body or frame that is not JSON, or is JSON outside the policy above. ``reason`` is the
    problem alone (for callers that word their own prefix); the message names ``what`` too."""

    def __init__(self, message: str, reason: str, field: str = "") -> None:
        super().__init__(message, [])
        self.reason = reason
        if field:
            self.errors = [{"field": field, "message": reason}]


class _RefusedError(Exception):
    """Raised inside ``json.loads`` hooks; turned into InvalidJSONError by :func:`loads`."""


def _parse_int(text: str) -> int:
    digits = len(text) - (text[0] == "-")
    if digits > MAX_INT_DIGITS:
        raise _RefusedError(f"an integer of {digits} digits, over the {MAX_INT_DIGITS}-digit limit")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RefusedError(f"the number {text[:40]}, out of a double's range")
    return value


def _parse_constant(name: str) -> Any:
    raise _RefusedError(f"{name}, which is not JSON")


def loads(raw: str | bytes, *, max_bytes: int | None = None, what: str = "body") -> Any:
    """Decode ``raw`` under the policy; :class:`InvalidJSONError` says what is wrong and where.

    pydantic-core's parser (Rust) decodes, and already refuses most of the policy (NaN, lone
    surrogates, long integers, nesting past its 200 levels); a refusal is decoded again by the
    standard library with hooks, only to say precisely what is wrong (its messages name line and
    column as Python's ``json`` always did)."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", errors="surrogatepass"))
    if max_bytes is not None and size > max_bytes:
        reason = f"{size} bytes, over the {max_bytes}-byte limit"
        raise InvalidJSONError(f"the {what} is {reason}", reason)
    # No string cache: pydantic-core's is a 16,384-slot table made on first use whose pages are
    # touched as strings land in it, and it keeps each cached string (a subscription id: one per
    # join) alive; ~150 KB on the first client frame, ~90 B a join (bench/optimisations.md, M1).
    # Decoding without it costs the same (a join: 1.4-1.55 µs, 100 items: 135-139 µs).
    try:
        value = pydantic_core.from_json(raw, allow_inf_nan=False, cache_strings=False)
    except ValueError:
        value = _explain(raw, what)
    # Only a number written with a long exponent or 309 digits can overflow a double (1e400).
    # pydantic-core reads 1e400 as inf. Encoding back in Rust and looking for the constant costs
    # less than any scan of the text (a regex took 3 times the parse); a string that merely says
    # "Infinity" takes the slow path and passes.
    if b"Infinity" in pydantic_core.to_json(value, inf_nan_mode="constants"):
        return _explain(raw, what)  # the hooks refuse the number by name
    return value


def _explain(raw: str | bytes, what: str) -> Any:
    """Decode with the standard library to name the problem; the value if there is none after all."""
    try:
        value = json.loads(raw, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except _RefusedError as exc:
        raise InvalidJSONError(f"the {what} holds {exc}", str(exc)) from None
    except RecursionError:
        reason = f"nesting over {MAX_DEPTH} levels deep"
        raise InvalidJSONError(f"the {what} holds {reason}", reason) from None
    except UnicodeDecodeError:
        raise InvalidJSONError(f"the {what} is not UTF-8", "not UTF-8") from None
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise InvalidJSONError(f"the {what} is not JSON: {reason}", reason) from None
    _raise_problem(value, what)  # a lone surrogate, or nesting the standard library still took
    return value  # JSON the fast parser does not take (a UTF-8 BOM before bytes) but is fine


def _raise_problem(value: Any, what: str) -> None:
    problem = _find_problem(value)
    if problem is not None:
        where, reason = problem
        reason += f" at {where}" if where else ""
        raise InvalidJSONError(f"the {what} holds {reason}", reason, where)


def check(value: Any, what: str) -> None:
    """Refuse, naming ``what`` and the field, a value JSON cannot carry faithfully."""
    try:  # the usual case in one C pass, as the stores' own encoding costs
        json.dumps(value, allow_nan=False, ensure_ascii=False, check_circular=False).encode("utf-8")
        return
    except (ValueError, UnicodeEncodeError, TypeError, RecursionError):
        pass  # find what and where; a type json cannot encode is left to the store's encoder
    problem = _find_problem(value)
    if problem is not None:
        where, message = problem
        raise ValidationError(f"{what} cannot be stored as JSON", [{"field": where, "message": message}])


def encode(value: Any, what: Callable[[], str]) -> bytes:
    """``value`` as the JSON bytes a store keeps, refused as :func:`check` refuses (``what()``
    names it in the error). One encoding in the usual case, where ``check`` and then the store
    encoded it twice (bench/optimisations.md, S1): pydantic-core writes NaN and Infinity as
    constants, so only a text holding those words, a text long enough to hold an integer past the
    digit limit, or a value it cannot encode at all (a lone surrogate) takes ``check``'s path."""
    try:
        raw: bytes | None = pydantic_core.to_json(value, inf_nan_mode="constants")
    except (ValueError, RecursionError):  # PydanticSerializationError is a ValueError
        raw = None
    # find(), not ``in``: bytes' ``in`` took the buffer protocol's slower path, 0.8 µs against
    # 0.25 µs a test on this item (bench/optimisations.md, S9).
    if raw is None or len(raw) > MAX_INT_DIGITS or raw.find(b"NaN") >= 0 or raw.find(b"Infinity") >= 0:
        check(value, what())
        if raw is None:
            raw = pydantic_core.to_json(value)  # what no encoder takes raises here, as the store's did
    return raw


def _find_problem(value: Any) -> tuple[str, str] | None:
    """(path, reason) of the first thing outside the policy, or None. Iterative: no recursion limit."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                return _path(path), f"a lone surrogate (\\u{ord(found.group()):04x}) in a string"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) >= _INT_LIMIT:
                return _path(path), f"an integer over {MAX_INT_DIGITS} digits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return _path(path), f"{item!r}, which is not JSON"
        elif isinstance(item, dict | list | tuple):
            if len(path) >= MAX_DEPTH:
                return "", f"nesting over {MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and _SURROGATE.search(key):
                        return _path(path), f"a key holding a lone surrogate ({key.encode('unicode_escape').decode()})"
                    stack.append((child, (*path, str(key))))
            else:
                stack.extend((child, (*path, str(i))) for i, child in enumerate(item))
        # Any other type is left to the store's encoder, which says what it cannot encode.
    return None


def _path(parts: tuple[str, ...]) -> str:
    return ".".join(parts)


def sanitized(value: Any) -> Any:
    """``value`` with non-finite floats as None and lone surrogates as U+FFFD (a browser's reading)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {sanitized(k) if isinstance(k, str) else k: sanitized(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitized(v) for v in value]
    return value


def loads_stored(text: str | bytes) -> Any:
    """Read back a value a store holds; never fails on what an older version let through."""
    value = json.loads(text)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    # Only text that holds one of the words or escapes can hold what needs mending.
    if "NaN" in text or "Infinity" in text or _SURROGATE_ESCAPE.search(text):
        return sanitized(value)
    return value


def dumps_tolerant(value: Any) -> bytes:
    """JSON bytes of ``value``, sanitized when it holds what JSON cannot carry (never raises for it)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (ValueError, UnicodeEncodeError, TypeError):
        return json.dumps(sanitized(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                          default=repr).encode("utf-8")

"""JSON Schema → Python type expressions and TypedDicts, for the generated typed module.

Every schema a step or stream gives (a pydantic model or a JSON Schema dict) is turned into its
JSON Schema first (``Schema.json_schema``), so both forms come out the same way. Two views of one
schema exist: ``"input"`` (what a caller must pass: fields with a default may be left out) and
``"output"`` (what validation hands back: a pydantic model dumps every field, defaults filled
in, so all of them are there). Anything the converter does not know becomes ``Any``: a type that is
too loose, never one that is wrong.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Literal

Mode = Literal["input", "output"]

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def pascal(name: str) -> str:
    """``petCreation`` → ``PetCreation``, ``call-openai`` → ``CallOpenai``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Unnamed"
    return text if text[0].isalpha() else f"T{text}"


def _literal(values: list[Any]) -> str | None:
    if not values or not all(v is None or isinstance(v, (str, int, bool)) for v in values):
        return None
    return "Literal[" + ", ".join(repr(v) for v in values) + "]"


def _union(parts: list[str]) -> str:
    unique = list(dict.fromkeys(parts))
    if "Any" in unique:
        return "Any"
    return " | ".join(unique) if unique else "Any"


class TypeWriter:
    """Collects named TypedDicts (dependencies first) and gives type expressions for schemas."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self._by_body: dict[tuple[str, str], str] = {}  # (wanted name, rendered fields) -> the name it got
        self._taken: set[str] = set()
        self._refs: dict[tuple[int, str, Mode], str] = {}  # ($defs id, ref, mode) -> name
        self._open: set[tuple[int, str, Mode]] = set()

    def reserve(self, name: str) -> str:
        """A free name based on ``name`` (suffixes 2, 3... when it is taken)."""
        candidate, n = name, 2
        while candidate in self._taken:
            candidate, n = f"{name}{n}", n + 1
        self._taken.add(candidate)
        return candidate

    def add_block(self, source: str) -> None:
        self.blocks.append(source)

    # -- schemas -------------------------------------------------------------------------------
    def expr(self, schema: Any, hint: str, mode: Mode, root: dict[str, Any], *, pydantic: bool) -> str:
        """A type expression for ``schema``; object schemas become named TypedDicts."""
        if schema is True or schema == {}:
            return "Any"
        if not isinstance(schema, dict):
            return "Any"
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._ref(ref, mode, root, pydantic=pydantic)
        if "const" in schema:
            return _literal([schema["const"]]) or "Any"
        if isinstance(schema.get("enum"), list):
            return _literal(schema["enum"]) or "Any"
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return _union([self.expr(s, hint, mode, root, pydantic=pydantic) for s in schema[key]])
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            return self.expr(all_of[0], hint, mode, root, pydantic=pydantic)
        kind = schema.get("type")
        if isinstance(kind, list):
            return _union([self.expr({**schema, "type": k}, hint, mode, root, pydantic=pydantic) for k in kind])
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            prefix = schema.get("prefixItems")
            if isinstance(prefix, list) and schema.get("items") in (None, False):
                inner = ", ".join(self.expr(s, hint + "Item", mode, root, pydantic=pydantic) for s in prefix)
                return f"tuple[{inner}]" if prefix else "tuple[()]"
            return f"list[{self.expr(schema.get('items', True), hint + 'Item', mode, root, pydantic=pydantic)}]"
        if kind == "object" or "properties" in schema:
            if isinstance(schema.get("properties"), dict) and schema["properties"]:
                return self.typed_dict(schema, schema.get("title") or hint, mode, root, pydantic=pydantic)
            extra = schema.get("additionalProperties", True)
            return f"dict[str, {self.expr(extra, hint + 'Value', mode, root, pydantic=pydantic)}]"
        return "Any"

    def _ref(self, ref: str, mode: Mode, root: dict[str, Any], *, pydantic: bool) -> str:
        key = (id(root), ref, mode)
        if key in self._refs:
            return self._refs[key]
        if key in self._open:  # a recursive schema: the inner reference stays loose
            return "Any"
        self._open.add(key)
        match = re.fullmatch(r"#/(\$defs|definitions)/(.+)", ref)
        target = root.get(match.group(1), {}).get(match.group(2)) if match else None
        if not isinstance(target, dict):
            return "Any"
        name = self.expr(target, pascal(match.group(2)) if match else "Ref", mode, root, pydantic=pydantic)
        self._open.discard(key)
        self._refs[key] = name
        return name

    def typed_dict(self, schema: dict[str, Any], name: str, mode: Mode, root: dict[str, Any], *,
                   pydantic: bool, extra_fields: list[tuple[str, str, bool]] | None = None) -> str:
        """Render ``schema``'s properties as a TypedDict (reusing an identical one); its name."""
        required = set(schema.get("required") or [])
        props = schema.get("properties") or {}
        # The input view differs only where a pydantic default lets a caller leave a field out.
        if mode == "input" and not (pydantic and any(p not in required for p in props)):
            mode = "output"
        fields: list[tuple[str, str, bool]] = []
        for prop, sub in props.items():
            # A pydantic model's validated data has every field, its default filled in if left out.
            present = prop in required or (mode == "output" and pydantic)
            fields.append((prop, self.expr(sub, pascal(name) + pascal(prop), mode, root, pydantic=pydantic), present))
        fields += extra_fields or []
        body = _render_fields(fields)
        desired = pascal(name) + ("In" if mode == "input" else "")
        found = self._by_body.get((desired, body))
        if found is not None:
            return found
        final = self.reserve(desired)
        self._by_body[(desired, body)] = final
        self.add_block(_typed_dict_source(final, fields, schema.get("description")))
        return final


def _render_fields(fields: list[tuple[str, str, bool]]) -> str:
    return "|".join(f"{k}:{t}:{r}" for k, t, r in fields)


def _is_attr_name(key: str) -> bool:
    # "__x" would be name-mangled in a class body; keywords cannot be written at all.
    return key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("__")


def _typed_dict_source(name: str, fields: list[tuple[str, str, bool]], doc: Any) -> str:
    def typ(t: str, present: bool) -> str:
        return t if present else f"NotRequired[{t}]"

    if all(_is_attr_name(k) for k, _, _ in fields):
        lines = [f"class {name}(TypedDict):"]
        if isinstance(doc, str) and doc.strip():
            lines.append(f"    {_docstring(doc)}")
        lines += [f"    {k}: {typ(t, r)}" for k, t, r in fields] or ["    pass"]
        return "\n".join(lines)
    items = ", ".join(f"{k!r}: {typ(t, r)!r}" for k, t, r in fields)
    return f"{name} = TypedDict({name!r}, {{{items}}})"


def _docstring(text: str) -> str:
    first = text.strip().splitlines()[0].replace('"""', "'''").replace("\\", "\\\\")
    return f'"""{first}"""'

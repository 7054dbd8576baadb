"""One way to validate data against a step's or a stream's schema.

Users give schemas in the two forms Motia's Python steps use: a pydantic model (or any type
pydantic understands, such as ``list[Pet]``) or a JSON Schema dict. Both are wrapped in
:class:`Schema`, which validates, normalises and reports every failing field.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import pydantic
from pydantic_core import SchemaSerializer, SchemaValidator

from .errors import ValidationError


class Schema:
    """A validated-data contract built from a pydantic type or a JSON Schema dict."""

    __slots__ = ("__dict__", "spec")
    spec: Any  # a pydantic type or a JSON Schema dict

    def __init__(self, spec: Any) -> None:
        if isinstance(spec, Schema):
            spec = spec.spec
        self.spec = spec

    @classmethod
    def of(cls, spec: Any) -> Schema | None:
        return None if spec is None else cls(spec)

    @property
    def is_json_schema(self) -> bool:
        return isinstance(self.spec, dict)

    @cached_property
    def _adapter(self) -> pydantic.TypeAdapter[Any]:
        return pydantic.TypeAdapter(self.spec)

    @cached_property
    def _json_validator(self) -> Any:
        # Imported here: only projects with JSON Schema dicts pay for jsonschema at start-up.
        import jsonschema

        validator_cls = jsonschema.validators.validator_for(self.spec, default=jsonschema.Draft202012Validator)
        validator_cls.check_schema(self.spec)
        return validator_cls(self.spec)

    def check(self) -> None:
        """Raise if the schema itself is malformed (used at load time)."""
        if self.is_json_schema:
            self._json_validator  # noqa: B018 - building the validator checks the schema
        else:
            self._adapter  # noqa: B018

    def json_schema(self) -> dict[str, Any]:
        if self.is_json_schema:
            return dict(self.spec)
        return self._adapter.json_schema(by_alias=True)

    def validate(self, data: Any, what: str = "data") -> Any:
        """Return the validated data as plain JSON types, or raise :class:`ValidationError`."""
        if self.is_json_schema:
            errors = [_json_schema_error(e) for e in self._json_validator.iter_errors(data)]
            flat = [entry for group in errors for entry in group]
            if flat:
                raise ValidationError(f"{what} does not match the schema", sorted(flat, key=lambda e: e["field"]))
            return data
        validate, dump = self._core
        try:
            value = validate(data)
        except pydantic.ValidationError as exc:
            raise ValidationError(
                f"{what} does not match the schema",
                [
                    {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
                    for err in exc.errors(include_url=False)
                ],
            ) from None
        return dump(value, mode="json", by_alias=True)

    @cached_property
    def _core(self) -> tuple[Callable[[Any], Any], Callable[..., Any]]:
        """The adapter's validate and dump, called as it calls them: its Python wrappers were a
        tenth of a stream ``set()`` (bench/optimisations.md, S4)."""
        adapter = self._adapter
        # A deferred build (defer_build) happens here: the validator is a stand-in until then.
        adapter.rebuild(raise_errors=False)
        if isinstance(adapter.validator, SchemaValidator) and isinstance(adapter.serializer, SchemaSerializer):
            return adapter.validator.validate_python, adapter.serializer.to_python
        # A pydantic plugin wraps the validator, or the type is not fully defined (the adapter's
        # own methods say so, as before).
        return adapter.validate_python, adapter.dump_python


def _json_schema_error(error: Any) -> list[dict[str, Any]]:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return [
            {"field": ".".join([*path, name]), "message": "Field required", "type": "missing"} for name in missing
        ]
    return [{"field": ".".join(path), "message": error.message, "type": str(error.validator)}]

"""The API step's config model: ``ApiRouteConfig`` (an HTTP route), with ``QueryParam``.

Created on first use (see ``config``); import it from ``motia_runtime`` or ``motia_runtime.config``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import field_validator

from .config import _Model, _schema, _StepBase
from .schema import Schema

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .config import EmitSpec, InfraSpec, SchemaSpec

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


class QueryParam(_Model):
    name: str
    description: str | None = None


class ApiRouteConfig(_StepBase):
    """An HTTP endpoint: ``handler(req, ctx)`` returns ``{"status", "body", "headers"?}``."""

    type: Literal["api"] = "api"
    path: str
    method: HttpMethod
    body_schema: Schema | None = None
    response_schema: dict[int, Schema] = {}
    query_params: list[QueryParam] = []
    middleware: list[Callable[..., Any]] = []

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        for part in value.strip("/").split("/"):
            if part.startswith(":") and not re.fullmatch(r":[A-Za-z_][A-Za-z0-9_]*", part):
                raise ValueError(f"path parameter {part!r} must be :name with letters, digits or _")
        return value

    @field_validator("body_schema", mode="before")
    @classmethod
    def _body(cls, value: Any) -> Any:
        return _schema(value)

    @field_validator("response_schema", mode="before")
    @classmethod
    def _responses(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {int(k): _schema(v) for k, v in value.items()}

    if TYPE_CHECKING:
        def __init__(self, *, path: str, method: HttpMethod,
                     name: str, description: str | None = None, flows: Sequence[str] = ...,
                     emits: Sequence[EmitSpec] = ..., virtual_emits: Sequence[EmitSpec] = ...,
                     virtual_subscribes: Sequence[str] = ..., include_files: Sequence[str] = ...,
                     infrastructure: InfraSpec = ...,
                     type: Literal["api"] = "api", body_schema: SchemaSpec = None,
                     response_schema: Mapping[int, SchemaSpec] = ..., query_params: Sequence[Any] = ...,
                     middleware: Sequence[Callable[..., Any]] = ...) -> None: ...

    @property
    def path_params(self) -> list[str]:
        return [p[1:] for p in self.path.strip("/").split("/") if p.startswith(":")]

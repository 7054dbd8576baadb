"""The OpenAPI 3.1 document of a project's API steps (served at ``/openapi.json`` by ``motia dev``,
written by ``motia openapi``).

Schemas come from each step's ``bodySchema`` and ``responseSchema`` (pydantic models or JSON
Schema dicts); OpenAPI 3.1 uses JSON Schema 2020-12, so they are embedded as they are, with the
``$defs`` pydantic emits hoisted into ``components.schemas`` (a ``#/$defs/...`` reference would
otherwise point at the document's root).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..config import ApiRouteConfig
from ..project import Project

_REF = re.compile(r"^#/\$defs/(.+)$")


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def _add(self, name: str, schema: Any) -> str:
        # The same model name used by two steps with different shapes gets a numbered twin.
        candidate, n = name, 2
        while candidate in self.schemas and self.schemas[candidate] != schema:
            candidate, n = f"{name}{n}", n + 1
        self.schemas[candidate] = schema
        return candidate

    def hoist(self, schema: dict[str, Any]) -> dict[str, Any]:
        schema = copy.deepcopy(schema)
        defs = schema.pop("$defs", {})
        renamed = {name: self._add(name, body) for name, body in defs.items()}

        def rewrite(node: Any) -> Any:
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and (match := _REF.match(ref)):
                    node = {**node, "$ref": f"#/components/schemas/{renamed.get(match[1], match[1])}"}
                return {k: rewrite(v) for k, v in node.items()}
            if isinstance(node, list):
                return [rewrite(v) for v in node]
            return node

        for name in renamed.values():
            self.schemas[name] = rewrite(self.schemas[name])
        rewritten: dict[str, Any] = rewrite(schema)
        return rewritten


def _path(path: str) -> str:
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", path)


def _operation(config: ApiRouteConfig, components: _Components) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": config.name, "tags": config.flows or ["default"]}
    if config.description:
        op["summary"] = config.description
    params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in config.path_params]
    params += [{"name": q.name, "in": "query", "required": False, "schema": {"type": "string"},
                **({"description": q.description} if q.description else {})} for q in config.query_params]
    if params:
        op["parameters"] = params
    if config.body_schema is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": components.hoist(config.body_schema.json_schema())}}}
    responses: dict[str, Any] = {}
    for status, schema in sorted(config.response_schema.items()):
        responses[str(status)] = {"description": f"{status} response", "content": {
            "application/json": {"schema": components.hoist(schema.json_schema())}}}
    if config.body_schema is not None:
        responses["400"] = {"description": "Invalid JSON body, or a body that breaks the schema",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if not responses:
        responses["default"] = {"description": "The step's response"}
    op["responses"] = responses
    return op


def build_openapi(project: Project, title: str = "Motia app", version: str = "1.0.0") -> dict[str, Any]:
    components = _Components()
    components.schemas["Error"] = {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string"}, "errors": {"type": "array", "items": {
            "type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}},
    }
    paths: dict[str, dict[str, Any]] = {}
    for step in sorted(project.api_steps, key=lambda s: (s.config.path, s.config.method)):
        config = step.config
        paths.setdefault(_path(config.path), {})[config.method.lower()] = _operation(config, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": dict(sorted(components.schemas.items()))},
    }


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"

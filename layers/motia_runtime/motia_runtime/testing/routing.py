"""Matching a request to an API step the way API Gateway matches routes (``/pets/{id}``)."""

from __future__ import annotations

import re

from ..config import ApiRouteConfig
from ..project import Step


def _pattern(path: str) -> re.Pattern[str]:
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.startswith(":"):
            parts.append(f"(?P<{segment[1:]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "/?$")


def match_route(steps: list[Step[ApiRouteConfig]], method: str,
                path: str) -> tuple[Step[ApiRouteConfig], dict[str, str]] | None:
    """The step serving ``method path`` and its path parameters; literal segments win over
    parameters, as in API Gateway's most-specific-route rule."""
    candidates = []
    for step in steps:
        config = step.config
        if config.method != method.upper():
            continue
        match = _pattern(config.path).match(path.split("?", 1)[0])
        if match:
            candidates.append((len(config.path_params), step, match.groupdict()))
    if not candidates:
        return None
    _, step, params = min(candidates, key=lambda c: c[0])
    return step, params

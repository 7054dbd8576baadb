"""Starlette's router with a dictionary in front for the routes whose path has no parameters.

Starlette tries each route's regular expression in order until one matches: ``GET /ping`` of the
bench app was the 19th of 27 routes, ~10 % of the request's CPU (bench/optimisations.md, round 2).
Which route a request reaches depends only on its type, method and path, so for the static paths
the answer is worked out once, by asking the same routes in the same order that Starlette would,
and kept in a dictionary; every other request (paths with parameters, a method that would get
405, WebSockets, a ``root_path``) goes through Starlette's own loop as before. The dictionary holds
only paths the app declares, so a client cannot grow it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from starlette.routing import Match, Route, Router
from starlette.types import Receive, Scope, Send


class StaticFirstRouter(Router):
    """A :class:`Router` that reaches a parameterless ``Route`` by a dictionary lookup."""

    _static: dict[tuple[str, str], Route]

    @classmethod
    def replacing(cls, router: Router) -> Router:
        """The same routes, default and lifespan as ``router``, with the lookup in front (``router``
        itself when it has middleware of its own, which would wrap the old instance)."""
        if router.middleware_stack != router.app:
            return router
        fast = cls.__new__(cls)
        fast.__dict__.update(router.__dict__)
        fast.middleware_stack = fast.app
        fast._static = fast._static_routes()
        return fast

    def static_routes(self) -> dict[tuple[str, str], Route]:
        """(path, method) → the route this router hands such a request to, for parameterless paths."""
        return dict(self._static)

    def _static_routes(self) -> dict[tuple[str, str], Route]:
        found: dict[tuple[str, str], Route] = {}
        for route in self.routes:
            if type(route) is not Route or route.param_convertors or not route.methods:
                continue
            for method in route.methods:
                key = (route.path, method)
                if key not in found and self._first_full(route.path, method) is route:
                    found[key] = route
        return found

    def _first_full(self, path: str, method: str) -> Any:
        """The route Starlette's loop would hand ``method path`` to, if one matches it fully."""
        scope = {"type": "http", "path": path, "method": method, "root_path": ""}
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
        return None

    def app(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        # Hands back the route's coroutine instead of awaiting it: no frame of this method stays
        # alive for as long as a WebSocket is open (memory per idle subscriber).
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self._static.get((scope["path"], scope["method"]))
            if route is not None:
                # What Starlette's loop sets for a full match of a Route without parameters.
                scope.setdefault("router", self)
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = dict(scope.get("path_params") or {})
                return route.handle(scope, receive, send)
        return super().app(scope, receive, send)

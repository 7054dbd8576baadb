"""motia_runtime: Motia-style steps and real-time streams in Python, locally and on AWS Lambda.

Importing this package loads nothing heavy: the names below are imported on first use;
adapters and hosts are imported by path.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    ConfigError,
    ConnectionGoneError,
    EmitError,
    FrameTooLargeError,
    ItemTooLargeError,
    MotiaError,
    StateContentionError,
    StateError,
    StreamAuthError,
    StreamContentionError,
    StreamError,
    StreamNotFoundError,
    StreamTokenError,
    ValidationError,
)

# The rest is imported on first use (PEP 562): ``import motia_runtime`` alone builds no pydantic
# model, and a Lambda entry point loads only what it uses (the fan-out never loads pydantic);
# see bench/optimisations.md.
_LAZY = {
    "AuthContext": "auth", "AuthRequest": "auth", "StreamGrant": "auth", "mint_stream_token": "auth",
    "verify_stream_token": "auth", "ApiRouteConfig": "config", "CronConfig": "config", "Emit": "config",
    "EventConfig": "config", "HandlerInfra": "config", "Infrastructure": "config", "NoopConfig": "config",
    "QueueInfra": "config", "StreamConfig": "config", "FlowContext": "context", "ApiRequest": "dispatch",
    "ApiResponse": "dispatch", "StreamTriggerConfig": "config", "StateTriggerConfig": "config",
    "TriggerLoopError": "trigger_routing", "ClientEvents": "config", "Presence": "config",
    "StreamHistory": "config",
}

if TYPE_CHECKING:
    from .auth import AuthContext, AuthRequest, StreamGrant, mint_stream_token, verify_stream_token
    from .config import (
        ApiRouteConfig,
        ClientEvents,
        CronConfig,
        Emit,
        EventConfig,
        HandlerInfra,
        Infrastructure,
        NoopConfig,
        Presence,
        QueueInfra,
        StateTriggerConfig,
        StreamConfig,
        StreamHistory,
        StreamTriggerConfig,
    )
    from .context import FlowContext
    from .dispatch import ApiRequest, ApiResponse
    from .trigger_routing import TriggerLoopError


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:  # a submodule not imported yet (``motia_runtime.config``), as the eager package had them
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    # step and stream configuration
    "ApiRouteConfig",
    "ClientEvents",
    "CronConfig",
    "Presence",
    "Emit",
    "EventConfig",
    "HandlerInfra",
    "Infrastructure",
    "NoopConfig",
    "QueueInfra",
    "StateTriggerConfig",
    "StreamConfig",
    "StreamHistory",
    "StreamTriggerConfig",
    # handlers
    "ApiRequest",
    "ApiResponse",
    "FlowContext",
    # stream auth
    "AuthContext",
    "AuthRequest",
    "StreamGrant",
    "mint_stream_token",
    "verify_stream_token",
    # errors
    "ConfigError",
    "ConnectionGoneError",
    "EmitError",
    "FrameTooLargeError",
    "ItemTooLargeError",
    "MotiaError",
    "StateContentionError",
    "StateError",
    "StreamAuthError",
    "StreamContentionError",
    "StreamError",
    "StreamNotFoundError",
    "StreamTokenError",
    "TriggerLoopError",
    "ValidationError",
]

"""motia_runtime: Motia-style steps and real-time streams in Python, locally and on AWS Lambda.

Importing this package loads core only (pydantic); adapters and hosts are imported by path.
"""

from .config import (
    ApiRouteConfig,
    CronConfig,
    Emit,
    EventConfig,
    HandlerInfra,
    Infrastructure,
    NoopConfig,
    QueueInfra,
    StreamConfig,
)
from .context import FlowContext
from .dispatch import ApiRequest, ApiResponse
from .errors import (
    ConfigError,
    ConnectionGoneError,
    EmitError,
    ItemTooLargeError,
    MotiaError,
    StateError,
    StreamError,
    StreamNotFoundError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    # step and stream configuration
    "ApiRouteConfig",
    "CronConfig",
    "Emit",
    "EventConfig",
    "HandlerInfra",
    "Infrastructure",
    "NoopConfig",
    "QueueInfra",
    "StreamConfig",
    # handlers
    "ApiRequest",
    "ApiResponse",
    "FlowContext",
    # errors
    "ConfigError",
    "ConnectionGoneError",
    "EmitError",
    "ItemTooLargeError",
    "MotiaError",
    "StateError",
    "StreamError",
    "StreamNotFoundError",
    "ValidationError",
]

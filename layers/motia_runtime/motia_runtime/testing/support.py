"""Small pieces of the simulation: the response type, a Lambda context, and boto3 clients that
outlive one simulation."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HttpResponse:
    """What API Gateway answered, shaped like an ``httpx.Response``: ``status_code``, ``headers``,
    ``text`` and ``json()``, so a test reads the same against CloudSim as against an HTTP client.
    ``status`` and ``body`` are the older names, kept as aliases. ``text`` is base64 when
    ``is_base64`` (a binary body, as API Gateway hands it over)."""

    status_code: int
    headers: dict[str, str]
    text: str
    is_base64: bool = False

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def body(self) -> str:
        return self.text

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


_sessions: dict[str, Any] = {}
_clients: dict[tuple[str, str], Any] = {}


def session(region: str) -> Any:
    """One boto3 session per region for every simulation: moto starts each mock with no default
    session, and a new one would load botocore's service models again (moto hooks every botocore
    session, so calls are still mocked)."""
    import boto3

    if region not in _sessions:
        _sessions[region] = boto3.session.Session(region_name=region)
    return _sessions[region]


def client(region: str, service: str) -> Any:
    """A client that outlives one simulation (its calls go to whichever mock is active), which
    spares ~0.1 s per client per simulation."""
    if (region, service) not in _clients:
        from botocore.config import Config

        # This botocore sends stream calls to account-based endpoints moto does not route.
        config = Config(account_id_endpoint_mode="disabled")
        _clients[(region, service)] = session(region).client(service, config=config)
    return _clients[(region, service)]


def maybe_json(text: str) -> Any:
    """The JSON in ``text``, or the text itself when it is not JSON Python reads (a poison message:
    not JSON, a 5,000-digit number, nested too deep)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError, as is the digit limit
        return text

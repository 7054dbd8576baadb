"""What the AWS adapters share: lazy boto3 clients, and reading botocore errors.

boto3 is imported when an adapter makes its first call, never when a module is imported: it
costs ~110 ms, and the Lambda entry points should pay for it only once they need a client.
botocore's exceptions too (``botocore.exceptions`` imports half of botocore's vendored
``requests``): ``AWS_ERRORS``, ``ClientError`` and ``BotoCoreError`` are this module's attributes,
imported on first access (PEP 562), so the adapters write ``except _client.AWS_ERRORS``. That
access happens when a call has raised, by which time the client's import has loaded them.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypeGuard, TypeVar

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError

    # Every exception a botocore call raises for a service or transport failure.
    AWS_ERRORS: tuple[type[ClientError], type[BotoCoreError]]

T = TypeVar("T")
P = ParamSpec("P")
#: The boto3-stubs client type of a LazyClient (``mypy_boto3_sqs.SQSClient``...): its calls are typed.
ClientT = TypeVar("ClientT")

#: The AWS services the package makes clients for (the dev extra's boto3-stubs type each one).
AwsService = Literal["apigatewaymanagementapi", "apigatewayv2", "dynamodb", "dynamodbstreams", "events",
                     "secretsmanager", "sqs", "ssm", "sts"]

__all__ = ["AWS_ERRORS", "AwsService", "BotoCoreError", "ClientError", "LazyClient", "error_code", "in_thread",
           "resend_until_taken", "status_code", "write_batch"]


def __getattr__(name: str) -> Any:
    if name not in ("AWS_ERRORS", "BotoCoreError", "ClientError"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from botocore.exceptions import BotoCoreError, ClientError

    globals().update(AWS_ERRORS=(ClientError, BotoCoreError), BotoCoreError=BotoCoreError, ClientError=ClientError)
    return globals()[name]


# Creating clients from one boto3 session in several threads at once is not safe, and the
# fan-out's thread pool may create its first clients concurrently.
_create_lock = threading.Lock()


def _make_client(service: AwsService, endpoint_url: str | None, max_attempts: int = 5) -> Any:
    import boto3
    from botocore.config import Config

    # "standard" retries throttling and 5xx with backoff, which the SDK's "legacy" mode does not
    # do for every error code.
    config = Config(retries={"mode": "standard", "max_attempts": max_attempts})
    return boto3.client(service, endpoint_url=endpoint_url, config=config)


class LazyClient(Generic[ClientT]):
    """A boto3 client given by the caller, or created on first use. ``max_attempts`` counts the
    SDK's retries after the first try (botocore's meaning): 0 turns them off, for callers that
    retry themselves."""

    def __init__(self, service: AwsService, client: ClientT | None = None, endpoint_url: str | None = None,
                 max_attempts: int = 5) -> None:
        self._service = service
        self._client = client
        self._endpoint_url = endpoint_url
        self._max_attempts = max_attempts

    def get(self) -> ClientT:
        if self._client is None:
            with _create_lock:
                if self._client is None:
                    self._client = _make_client(self._service, self._endpoint_url, self._max_attempts)
        return self._client


def _is_client_error(exc: BaseException) -> TypeGuard[ClientError]:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError)


def error_code(exc: BaseException) -> str:
    if _is_client_error(exc):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def status_code(exc: BaseException) -> int | None:
    if _is_client_error(exc):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


async def in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking boto3 call off the event loop, so a step's concurrent awaits overlap."""
    return await asyncio.to_thread(fn, *args, **kwargs)



#: How many times a batch call is sent before what AWS still hands back is given up on, and the
#: pause before the first resend: doubled each round up to ``BATCH_MAX_PAUSE_S``, half of it random.
#: DynamoDB hands back the writes of a throttled partition (``UnprocessedItems``) and EventBridge the
#: entries it throttled (``ThrottlingException`` / ``InternalFailure``); a resend at once meets the same
#: throttle, and both services' docs ask for an exponential backoff between rounds.
BATCH_ROUNDS = 8
BATCH_FIRST_PAUSE_S = 0.05
BATCH_MAX_PAUSE_S = 1.0


def resend_until_taken(send: Callable[[list[T]], list[T]], items: Sequence[T],
                       sleep: Callable[[float], None] = time.sleep) -> list[T]:
    """``send(items)``, then ``send`` of what it handed back, after a growing pause, up to
    ``BATCH_ROUNDS`` sends; returns what was still handed back (empty when all were taken).
    Blocking (run it ``in_thread`` from a loop); an error ``send`` raises propagates."""
    pending = list(items)
    pause = BATCH_FIRST_PAUSE_S
    for round_ in range(BATCH_ROUNDS):
        if round_:
            sleep(pause / 2 + random.uniform(0, pause / 2))
            pause = min(pause * 2, BATCH_MAX_PAUSE_S)
        pending = send(pending)
        if not pending:
            break
    return pending


def write_batch(client: Any, table: str, requests: Sequence[Mapping[str, Any]]) -> int:
    """``BatchWriteItem`` of ``requests`` (at most 25) into ``table``, resending what comes back
    unprocessed (``resend_until_taken``); returns how many were never taken (0 when every one went)."""

    def send(pending: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        out = client.batch_write_item(RequestItems={table: pending})
        return list((out.get("UnprocessedItems") or {}).get(table, []))

    return len(resend_until_taken(send, requests))

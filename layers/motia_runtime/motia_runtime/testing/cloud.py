"""``CloudSim``: a motia project on a simulated AWS (moto), driven through its real Lambda entry points.

moto cannot run Lambda code, so the simulation plays Lambda's part: it builds each event the
way its AWS source would and calls the entry point the function's ``Handler`` names, with the
function's environment from the template (Globals and its own variables, resolved against the
resources made in moto). Calls run in one worker thread standing for warm Lambda containers:
each simulated function is a ``bootstrap.Function`` of its own (its settings, runtime and clients,
kept between calls), and the entry point is called inside ``bootstrap.serving(function)``.

- ``http()`` → API entry (HTTP API v2 event, routed like API Gateway on the project's API steps);
  then the stream records the request wrote go to the fan-out at once (``prompt_fanout``), as
  the poller does on AWS within a fraction of a second, so a client joining afterwards finds
  them in its ``sync`` and is not sent them again (as with ``motia dev``).
- ``deliver()`` → queue entry, with what EventBridge (or the FIFO path) put in each step's SQS
  queue. Succeeded messages are deleted; failed ones are made visible again at once (standing
  in for their retry delay running out), so each ``deliver()`` is one attempt per message. The
  delay the function gave each failed message (its ``ChangeMessageVisibility``) is recorded
  first, in whole seconds, in ``retry_delays[step]``.
  moto's ReceiveMessage applies the RedrivePolicy itself: a message received
  ``maxReceiveCount`` times moves to the DLQ on the next receive (see ``dead_letters()``).
- ``pump_streams()`` → fan-out entry, with new records of the streams table's DynamoDB stream,
  and the triggers entry (stream and state triggers) with those of the streams and state tables.
  Partial failures are retried from the first failed record on the next pump, as Lambda does,
  and dropped after ``max_stream_retries`` (kept in ``dropped_stream_records``).
- ``deliver_big_rooms()`` → delivery entry, with what the fan-out put in the big-room delivery
  queue (SQS FIFO), one message per invocation as the template's event source says; a failed
  message is made visible again at once, and its group's later messages wait for it.
- ``expire_ttl()`` deletes what DynamoDB's TTL would have by now (moto never does), so the
  REMOVE records reach the fan-out on the next pump; ``cold_start()`` makes every function's
  next call a cold start.
- ``run_until_idle()`` alternates the three until nothing is left. ``cron(step)`` → schedule entry.
- ``connect()`` → WebSocket entry (``$connect``), returning a WsClient whose frames are what was
  posted to its connection; ``gone(id)`` makes API Gateway answer 410 for that connection, and
  ``recorder.fail(id, 429 | 413)`` makes its next posts throttled or too large. The Management API
  is ``recorder``, a real HTTP server on a loopback port (``testing/websocket.py``): every function
  whose template sets ``MOTIA_WS_ENDPOINT`` gets that server's URL (``ws_endpoint``) in it, so
  posts go through the real pusher, signed, over HTTP.

No event source mapping is created on the table stream: in moto one swallows the records.
Delays (``DelaySeconds``) are real time; the simulation does not move the clock.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import secrets
import sys
from collections import defaultdict
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..hosts.aws import bootstrap
from ..hosts.aws.api import apigw_path
from ..project import Project, load_project
from ..runtime import Runtime
from ..tools.template.names import HANDLERS
from . import lambda_events as ev
from .pump import STREAM_BATCH, StreamPump
from .resources import Resources, SimError, create_resources
from .routing import match_route
from .support import HttpResponse, LambdaContext, client, maybe_json, session
from .ttl import expire_due
from .websocket import FrameRecorder, WsClient

T = TypeVar("T")

SQS_BATCH = 10


_dumps = json.dumps  # http() has a parameter named json


def _entry(kind: str) -> Callable[[dict[str, Any], Any], Any]:
    module, _, name = HANDLERS[kind].rpartition(".")
    fn: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module), name)
    return fn


class CloudSim:
    """See the module docstring. Use as a context manager; ``template`` defaults to
    ``motia_runtime.tools.template.build_template(project)``."""

    def __init__(self, root: str | Path, *, template: dict[str, Any] | None = None, region: str = "us-east-1",
                 stack_name: str = "motia-sim", stage: str = "test", max_stream_retries: int | None = None,
                 parameters: dict[str, str] | None = None, prompt_fanout: bool = True) -> None:
        self.root = Path(root).resolve()
        self.prompt_fanout = prompt_fanout  # pump the table stream after each http() (see _prompt_fanout)
        self.parameters = dict(parameters or {})  # template parameter overrides, as sam deploy takes them
        self.region = region
        self.stack_name = stack_name
        self.stage = stage
        self.max_stream_retries = max_stream_retries
        self._template = template
        self._default_env: dict[str, str] = {}
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._container: ThreadPoolExecutor | None = None
        self._functions: dict[str, bootstrap.Function] = {}  # by AWS_LAMBDA_FUNCTION_NAME: warm containers
        self._connected_at: dict[str, int] = {}
        self.retry_delays: dict[str, list[int]] = defaultdict(list)
        self._pump: StreamPump
        self._trigger_pump: StreamPump | None = None
        self.project: Project
        self.resources: Resources
        self.recorder: FrameRecorder
        self.api_id = ""
        self._root_was_on_path = False
        self._modules_before: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> CloudSim:
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def start(self) -> None:
        import boto3
        from moto import mock_aws

        self._root_was_on_path = str(self.root) in sys.path
        self._modules_before = set(sys.modules)
        # Lambda sets both region variables; one left over from the shell would disagree.
        self._set_env({"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region,
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing"})
        self._mock = mock_aws()
        self._mock.start()
        boto3.DEFAULT_SESSION = session(self.region)  # see support.session
        try:
            self._provision()
        except BaseException:
            self.close()
            raise

    def _provision(self) -> None:
        self.project = load_project(self.root)
        template = self._template if self._template is not None else _build_template(self.project)
        account = self.client("sts").get_caller_identity()["Account"]
        self.api_id = self.client("apigatewayv2").create_api(
            Name=f"{self.stack_name}-ws", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.type",
        )["ApiId"]
        self.resources = create_resources(template, self._clients_for_resources(), stack=self.stack_name,
                                          region=self.region, account=account, websocket_api_id=self.api_id,
                                          parameters=self.parameters)
        # A function reads its declared secrets into the process environment (motia_runtime.secrets);
        # here that is the test's process, so put them back as they were on close().
        for function in self.resources.functions.values():
            for name in json.loads(function.env.get("MOTIA_SECRETS") or "{}"):
                self._saved_env.setdefault(name, os.environ.get(name))
        self.stage = self.resources.ws_stage or self.stage
        if self.max_stream_retries is None:  # the fan-out's MaximumRetryAttempts, as Lambda would retry
            fanout = self.resources.functions.get("fanout")
            retries = fanout.max_retry_attempts if fanout else None
            self.max_stream_retries = retries if retries is not None and retries >= 0 else 3
        self._check_handlers()
        self.recorder = FrameRecorder(self.stage, region=self.region).start()
        self._default_env = self._computed_env()
        self._set_env({"LAMBDA_TASK_ROOT": str(self.root)})
        bootstrap.reset()
        self._container = ThreadPoolExecutor(1, thread_name_prefix="motia-sim-lambda")
        fanout = self.resources.functions.get("fanout")
        arns = self.resources.stream_arns
        self._pump = StreamPump(self.client("dynamodbstreams"), [arns[t] for t in ("streams-table",) if t in arns],
                                lambda event: self.invoke("fanout", event),
                                batch_size=(fanout.batch_size if fanout else None) or STREAM_BATCH,
                                max_retries=self.max_stream_retries or 0)
        # The tables' second consumer, when a step has a stream or state trigger (hosts/aws/triggers.py).
        triggers = self.resources.functions.get("triggers")
        self._trigger_pump = None if triggers is None else StreamPump(
            self.client("dynamodbstreams"),
            [arns[t] for t in ("streams-table", "state-table", "connections-table") if t in arns],
            lambda event: self.invoke("triggers", event), batch_size=triggers.batch_size or STREAM_BATCH,
            max_retries=triggers.max_retry_attempts if triggers.max_retry_attempts is not None else 3)

    def _computed_env(self) -> dict[str, str]:
        """The environment for functions the template does not describe (e.g. a hand-made template)."""
        fifo: dict[str, list[str]] = defaultdict(list)
        for step in self.project.event_steps:
            queue = self.resources.queues.get(step.name)
            if queue is not None and queue.fifo:
                for topic in step.config.subscribes:
                    fifo[topic].append(queue.url)
        tables = self.resources.tables
        return {
            "MOTIA_STATE_TABLE": tables.get("state-table", ""), "MOTIA_STREAMS_TABLE": tables.get("streams-table", ""),
            "MOTIA_CONNECTIONS_TABLE": tables.get("connections-table", ""),
            "MOTIA_EVENT_BUS": self.resources.bus_name or "", "MOTIA_FIFO_QUEUES": json.dumps(fifo),
            "MOTIA_WS_ENDPOINT": self.ws_endpoint, "POWERTOOLS_SERVICE_NAME": self.stack_name,
        }

    def _function_env(self, key: str, step: str | None) -> dict[str, str]:
        """A function's environment as Lambda would set it: the template's variables (Globals and
        the function's own, resolved), with the project root pointed at the local checkout."""
        info = self.resources.functions.get(key)
        if info is None:
            env = {**self._default_env, "AWS_LAMBDA_FUNCTION_NAME": f"{self.stack_name}-{key}"}
            if step is not None:
                env["MOTIA_STEP"] = step
        else:
            env = {**info.env, "AWS_LAMBDA_FUNCTION_NAME": f"{self.stack_name}-{info.logical_id}"}
            if "MOTIA_WS_ENDPOINT" in env:  # the stage's https URL on AWS; here the recorder's
                env["MOTIA_WS_ENDPOINT"] = self.ws_endpoint
        return {**env, "MOTIA_PROJECT_ROOT": str(self.root)}

    def close(self) -> None:
        self._functions.clear()
        if self._container is not None:
            self._container.submit(bootstrap.reset).result()
            self._container.shutdown()
            self._container = None
        if hasattr(self, "recorder"):
            self.recorder.stop()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        self._forget_project_modules()

    def _forget_project_modules(self) -> None:
        """Undo what loading the project did to the interpreter. Step modules are named after
        their path (``functions.x.y_step``), so a module this simulation imported first is
        forgotten, with the project root on ``sys.path``; modules imported before it (which
        ``load_project`` reloads in place) are left alone, so references to them stay good."""
        prefixes = tuple(f"{self.root / d}{os.sep}" for d in ("functions", "streams"))
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if name not in self._modules_before and isinstance(file, str) and file.startswith(prefixes):
                del sys.modules[name]
        if not self._root_was_on_path and str(self.root) in sys.path:
            sys.path.remove(str(self.root))

    def client(self, service: str) -> Any:
        """A boto3 client on the simulated account (also handy for a test's own checks)."""
        return client(self.region, service)

    def _clients_for_resources(self) -> dict[str, Any]:
        return {name: self.client(name) for name in ("dynamodb", "sqs", "events")}

    def _check_handlers(self) -> None:
        expected = {step.name: HANDLERS.get(step.config.type) for step in self.project.steps.values()}
        expected |= {"websocket": HANDLERS["websocket"], "fanout": HANDLERS["fanout"],
                     "delivery": HANDLERS["delivery"], "triggers": HANDLERS["triggers"]}
        for key, info in self.resources.functions.items():
            if info.handler and expected.get(key) and info.handler != expected[key]:
                raise SimError(f"template: function {info.logical_id} has Handler {info.handler!r}; the runtime's "
                               f"entry point for it is {expected[key]!r}")

    @property
    def ws_endpoint(self) -> str:
        """The Management API endpoint the functions post to: the recorder's loopback URL (on AWS,
        ``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}``)."""
        return self.recorder.endpoint

    # -- invoking entry points ----------------------------------------------------------------
    def invoke(self, kind: str, event: dict[str, Any], step: str | None = None) -> Any:
        """Call one entry point (``api``, ``event``, ``cron``, ``websocket``, ``fanout``, ``triggers``) as Lambda
        would, with the environment of the function that serves it."""
        if self._container is None:
            raise SimError("the simulation is not started (use it as a context manager)")
        env = self._apply_env(step if step is not None else kind, step)
        context = LambdaContext(env["AWS_LAMBDA_FUNCTION_NAME"])
        return self._container.submit(self._serve, self._function(env), _entry(kind), event, context).result()

    def _function(self, env: dict[str, str]) -> bootstrap.Function:
        """The simulated function ``env`` is the environment of: made on its first call (cold), then kept."""
        name = env["AWS_LAMBDA_FUNCTION_NAME"]
        if name not in self._functions:
            self._functions[name] = bootstrap.Function(env)
        return self._functions[name]

    @staticmethod
    def _serve(function: bootstrap.Function, call: Callable[..., T], *args: Any) -> T:
        with bootstrap.serving(function):
            return call(*args)

    def _apply_env(self, key: str, step: str | None) -> dict[str, str]:
        env = self._function_env(key, step)
        for name in [k for k in os.environ if k.startswith("MOTIA_") and k not in env]:
            self._saved_env.setdefault(name, os.environ.get(name))
            del os.environ[name]
        self._set_env(env)
        return env

    def run(self, fn: Callable[[Runtime], Coroutine[Any, Any, T]]) -> T:
        """Run ``fn(runtime)`` with a runtime wired to every resource (a container of its own), e.g.
        ``sim.run(lambda rt: rt.state.get("group", "key"))`` to check or seed what steps see."""
        if self._container is None:
            raise SimError("the simulation is not started (use it as a context manager)")
        function = self._function(self._apply_env("(test)", None))
        return self._container.submit(self._serve, function, lambda: bootstrap.run(fn(function.runtime()))).result()

    # -- HTTP --------------------------------------------------------------------------------
    def http(self, method: str, path: str, *, json: Any = None, body: str | bytes | None = None,
             headers: dict[str, str] | None = None, query: dict[str, Any] | str | None = None) -> HttpResponse:
        """A request through API Gateway to the API step whose route matches (404 when none does)."""
        found = match_route(self.project.api_steps, method, path)
        if found is None:
            return HttpResponse(404, {"content-type": "application/json"}, '{"message":"Not Found"}')
        step, params = found
        all_headers = dict(headers or {})
        if json is not None:
            body = _dumps(json)
            all_headers.setdefault("content-type", "application/json")
        config = step.config
        event = ev.http_api(method, path, route_key=f"{config.method} {apigw_path(config.path)}", path_params=params,
                            query=query, headers=all_headers, body=body, region=self.region)
        result = self.invoke("api", event, step=step.name)
        self._prompt_fanout()
        return HttpResponse(int(result["statusCode"]), dict(result.get("headers") or {}), result.get("body") or "",
                            bool(result.get("isBase64Encoded")))

    def _prompt_fanout(self) -> None:
        """Push what a request wrote before the caller's next move, as the stream's poller does on
        AWS within a fraction of a second: a client that joins after the request then finds the
        writes in its sync and is not sent them again (events stay queued for ``deliver()``)."""
        if self.prompt_fanout:
            self.pump_streams()

    # -- queues ------------------------------------------------------------------------------
    def deliver(self) -> int:
        """One delivery round over every step's queue; returns how many messages were handed over."""
        sqs = self.client("sqs")
        handed = 0
        for step, queue in self.resources.queues.items():
            failed: list[str] = []
            function = self.resources.functions.get(step)
            batch_size = min(function.batch_size or SQS_BATCH, SQS_BATCH) if function else SQS_BATCH
            while True:
                messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=batch_size,
                                               MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
                                               ).get("Messages", [])
                if not messages:
                    break
                event = {"Records": [ev.sqs_record(m, queue.arn, self.region) for m in messages]}
                result = self.invoke("event", event, step=step)
                failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
                done = [m for m in messages if m["MessageId"] not in failed_ids]
                if done:
                    sqs.delete_message_batch(QueueUrl=queue.url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
                for message in messages:
                    if message["MessageId"] in failed_ids:
                        delay = self._hidden_for(queue.url, message["ReceiptHandle"])
                        self.retry_delays[step].append(delay)
                        if delay:  # 0: visible already (the last attempt's, bound for the DLQ)
                            failed.append(message["ReceiptHandle"])
                handed += len(messages)
            for receipt in failed:
                sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=receipt, VisibilityTimeout=0)
        return handed

    def deliver_big_rooms(self) -> int:
        """One round over the big-room delivery queue; returns how many messages were handed over.
        Each message goes to its own invocation (``BatchSize`` 1); a message of a group whose
        earlier message failed in this round is put back untouched, as SQS FIFO holds a group's
        later messages until the earlier one is done."""
        queue = self.resources.delivery_queue
        if queue is None:
            return 0
        sqs = self.client("sqs")
        handed = 0
        blocked: set[str] = set()
        put_back: list[str] = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                           MessageSystemAttributeNames=["All"]).get("Messages", [])
            if not messages:
                break
            message = messages[0]
            group = message.get("Attributes", {}).get("MessageGroupId", "")
            if group in blocked:
                put_back.append(message["ReceiptHandle"])
                continue
            result = self.invoke("delivery", {"Records": [ev.sqs_record(message, queue.arn, self.region)]})
            handed += 1
            if {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}:
                blocked.add(group)
                put_back.append(message["ReceiptHandle"])
            else:
                sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
        for receipt in put_back:
            sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=receipt, VisibilityTimeout=0)
        return handed

    def _hidden_for(self, queue_url: str, receipt: str) -> int:
        """Seconds until a received message is visible again (read from moto's queue: no AWS API
        tells a message's remaining visibility)."""
        from moto.core.utils import unix_time_millis
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ev.ACCOUNT_ID][self.region].queues[queue_url.rsplit("/", 1)[-1]]
        message = next((m for m in queue._messages if m.receipt_handle == receipt), None)
        if message is None:
            return 0
        return max(0, round((message.visible_at - unix_time_millis()) / 1000))

    def dead_letters(self, step: str) -> list[Any]:
        """The bodies of the messages in a step's DLQ (parsed when they are JSON); they stay there."""
        dlq = self.resources.dlqs.get(step)
        if dlq is None:
            raise SimError(f"step {step!r} has no DLQ in the template")
        messages = self.client("sqs").receive_message(QueueUrl=dlq.url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                                      WaitTimeSeconds=0).get("Messages", [])
        return [maybe_json(m["Body"]) for m in messages]

    def cron(self, step: str) -> dict[str, Any]:
        """Run a cron step now, as its EventBridge schedule would."""
        rule_arn = f"arn:aws:events:{self.region}:{ev.ACCOUNT_ID}:rule/{self.stack_name}-{step}"
        result: dict[str, Any] = self.invoke("cron", ev.scheduled(rule_arn, self.region), step=step)
        return result

    # -- DynamoDB stream → fan-out ------------------------------------------------------------
    def pump_streams(self) -> int:
        """Hand new records of the streams table's stream to the fan-out, and of the tables' streams
        to the triggers function when the app has one; returns how many records were handed over."""
        return self._pump.pump() + (self._trigger_pump.pump() if self._trigger_pump is not None else 0)

    @property
    def dropped_stream_records(self) -> list[dict[str, Any]]:
        """Records the fan-out kept failing on, given up after the retries (Lambda's on-failure path)."""
        return self._pump.dropped

    def run_until_idle(self, max_rounds: int = 100) -> int:
        """Deliver queued events and push stream records until neither has work; returns the rounds."""
        for rounds in range(1, max_rounds + 1):
            if self.deliver() + self.pump_streams() + self.deliver_big_rooms() == 0:
                return rounds
        raise SimError(f"still busy after {max_rounds} rounds (an event loop between steps?)")

    def expire_ttl(self, now: float | None = None) -> int:
        """Delete what DynamoDB's TTL would have deleted by ``now`` (epoch s; moto never does):
        the REMOVE records go to the fan-out on the next ``pump_streams()`` (``testing/ttl.py``)."""
        return expire_due(self.client("dynamodb"), sorted(set(self.resources.table_names.values())), now)

    def cold_start(self) -> None:
        """Every simulated function starts cold on its next call (no runtime, settings or clients
        kept from earlier calls), as after a deployment or an idle period."""
        self._functions.clear()
        if self._container is not None:
            self._container.submit(bootstrap.reset).result()

    # -- WebSocket ---------------------------------------------------------------------------
    def connect(self, token: str | None = None, *, subprotocols: list[str] | None = None,
                query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> WsClient:
        """Open a connection (``$connect``). A ``token`` is offered as Motia's browser client does,
        in ``Sec-WebSocket-Protocol: Authorization, <token>``; pass ``query={"authToken": ...}``
        for the other way. A refused connection has ``accepted`` False and ``status_code`` 401."""
        connection_id = base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()  # like "Bq2H7dZ1oAMCJmw="
        protocols = subprotocols if subprotocols is not None else (["Authorization", token] if token else None)
        event = ev.ws_connect(connection_id, api_id=self.api_id, stage=self.stage, region=self.region,
                              subprotocols=protocols, query=query, headers=headers)
        result = self.invoke("websocket", event)
        client = WsClient(self, connection_id, result)
        if client.accepted:
            self.recorder.open(connection_id)
            self._connected_at[connection_id] = event["requestContext"]["connectedAt"]
        return client

    def ws_message(self, connection_id: str, body: str | bytes) -> dict[str, Any]:
        event = ev.ws_message(connection_id, body, route=ev.route_for(body), api_id=self.api_id, stage=self.stage,
                              region=self.region, connected_at=self._connected_at.get(connection_id))
        result: dict[str, Any] = self.invoke("websocket", event)
        return result

    def ws_disconnect(self, connection_id: str) -> None:
        self.recorder.close(connection_id)
        self.invoke("websocket", ev.ws_disconnect(connection_id, api_id=self.api_id, stage=self.stage,
                                                  region=self.region))

    def gone(self, connection_id: str) -> None:
        """From now on, posts to this connection answer 410 Gone (the client vanished without a
        ``$disconnect``, as happens on AWS)."""
        self.recorder.close(connection_id)


def _build_template(project: Project) -> dict[str, Any]:
    try:
        from ..tools.template import build_template
    except ImportError as exc:
        raise SimError("motia_runtime.tools.template.build_template is not available; pass template= "
                       "(a SAM template dict) to CloudSim") from exc
    template: dict[str, Any] = build_template(project)
    return template

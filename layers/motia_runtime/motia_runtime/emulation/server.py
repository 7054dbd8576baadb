"""``CloudApp``: a project's SAM template served on this machine as AWS would run it (``motia cloud``).

One process holds: a moto server (the tables with their streams, queues and DLQs, the bus and its
rules, made from the template by ``testing.resources``, as ``CloudSim`` makes them), the HTTP API
(``http_api``, uvicorn) and the WebSocket API (``websocket_api``) on their ports, the Management
API (``testing.websocket.FrameRecorder`` with the WebSocket API as its sink), the event sources
(``sources``) and a pool of worker processes per function (``lambda_pool``). Functions get the
template's environment, resolved against what was made, with the AWS endpoint pointed at moto and
``MOTIA_WS_ENDPOINT`` at the Management API. Each invocation is logged as one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..testing import lambda_events as ev
from ..testing.resources import Resources, SimError, create_resources
from ..testing.ttl import expire_due
from ..testing.websocket import Credentials, FrameRecorder
from .http_api import Cors, HttpApi
from .lambda_pool import FunctionPool, Invocation, start_forkserver
from .local_only import Gate, MotoServer
from .sources import MotoPeek, Scheduler, SqsPoller, StreamPoller
from .template import AppModel, TemplateError, load_template, read_app
from .websocket_api import IDLE_TIMEOUT_S, WebSocketGateway

if TYPE_CHECKING:
    from ..adapters.aws._client import AwsService

# The emulated account's credentials: functions sign with them, the Management API checks them.
CREDENTIALS = Credentials("motia-cloud-local", "motia-cloud-local-secret")
INVOKE_THREADS = 64


def _loopback_names() -> frozenset[str]:
    from ..hosts.local.settings import LOOPBACK_NAMES  # not at import: see local_only.py

    return LOOPBACK_NAMES


@dataclass
class CloudSettings:
    root: Path
    template: Path | None = None  # default: <root>/template.yaml
    host: str = "127.0.0.1"
    # The Host names every listener answers to (local_only.py); None: any. The CLI adds --host and
    # --allowed-host / MOTIA_ALLOWED_HOSTS (hosts.local.settings.allowed_hosts, as motia dev).
    allowed_hosts: frozenset[str] | None = field(default_factory=_loopback_names)
    port: int = 4000
    ws_port: int | None = None  # default: port + 1
    concurrency: int = 4  # environments per function at most
    region: str = "us-east-1"
    stack: str = "motia-cloud"
    parameters: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # set in every function (local tuning)
    # Values of the app's secrets ([tool.motia.secrets] names), stored in moto's SSM or Secrets
    # Manager where the template's MOTIA_SECRETS points, so functions read them as on AWS.
    secrets: dict[str, str] = field(default_factory=dict)
    visibility_timeout_cap: int | None = None  # shortens the queues' visibility timeouts
    stream_poll_s: float = 0.25
    idle_timeout_s: float = IDLE_TIMEOUT_S
    environment_idle_s: float = 600.0  # an idle environment is ended after this (Lambda: minutes)
    # Items past their TTL attribute are deleted this often, as DynamoDB's TTL does (within
    # minutes there; moto never does): their REMOVE records reach the tables' stream functions.
    ttl_sweep_s: float = 5.0
    reload: bool = True
    log: TextIO | None = None  # invocation lines; default stdout


class CloudApp:
    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings
        self.root = settings.root.resolve()
        self.template_path = (settings.template or self.root / "template.yaml").resolve()
        self.model: AppModel
        self.resources: Resources
        self.pools: dict[str, FunctionPool] = {}
        self.stop_event = threading.Event()
        self._wakes: list[threading.Event] = []
        self._threads: list[threading.Thread] = []
        self._moto: MotoServer | None = None
        self.gate = Gate(settings.allowed_hosts, self.log)
        self._log_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(INVOKE_THREADS, thread_name_prefix="invoke")
        self.management: FrameRecorder | None = None
        self.websocket: WebSocketGateway | None = None
        self.scheduler: Scheduler | None = None
        self.moto_url = ""
        self.http_port = settings.port
        self.ws_port = settings.ws_port if settings.ws_port is not None else (settings.port + 1 if settings.port else 0)
        self.api_id = ""
        self.cors: Cors | None = None  # the HTTP API's CorsConfiguration, made by provision()
        self._wake_loop: Callable[[], Any] | None = None  # ends serve()'s wait, from any thread

    # -- logging -----------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        with self._log_lock:
            out = self.settings.log or sys.stdout
            out.write(json.dumps(record) + "\n")
            out.flush()

    def _invoked(self, result: Invocation) -> None:
        self.log({"type": "invoke", **result.log_line()})
        self.kick()

    # -- start -------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the template (TemplateError when it cannot be served)."""
        template = load_template(self.template_path)
        self.template = template
        self.model = read_app(template, str(self.template_path), self.settings.parameters)
        if not self.model.functions:
            raise TemplateError(f"{self.template_path}: field Resources: no AWS::Serverless::Function to serve")

    def provision(self) -> None:
        """Start moto and make the template's resources in it; set up the function pools."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto = MotoServer(self.gate)
        self.moto_url = self._moto.start()
        region = self.settings.region
        api = self.client("apigatewayv2").create_api(Name=f"{self.settings.stack}-ws", ProtocolType="WEBSOCKET",
                                                      RouteSelectionExpression="$request.body.type")
        self.api_id = api["ApiId"]
        try:
            self.resources = create_resources(self.template, {s: self.client(s) for s in ("dynamodb", "sqs", "events")},
                                              stack=self.settings.stack, region=region,
                                              account=ev.ACCOUNT_ID, websocket_api_id=self.api_id,
                                              parameters=self.settings.parameters)
        except SimError as exc:
            raise TemplateError(f"{self.template_path}: {exc}") from None
        self._store_secrets()
        self.cors = self._cors()
        cap = self.settings.visibility_timeout_cap
        if cap is not None:
            for source in self.model.sqs_sources:
                queue = self.resources.queues_by_id[source.queue]
                current = int(self.client("sqs").get_queue_attributes(
                    QueueUrl=queue.url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"])
                if current > cap:
                    self.client("sqs").set_queue_attributes(QueueUrl=queue.url,
                                                            Attributes={"VisibilityTimeout": str(cap)})
        stage = self.model.websocket.stage if self.model.websocket else "prod"
        self.websocket = WebSocketGateway(self.model.websocket, self._ainvoke, api_id=self.api_id, region=region,
                                          idle_timeout_s=self.settings.idle_timeout_s, gate=self.gate) \
            if self.model.websocket else None
        self.management = FrameRecorder(stage, region=region, credentials=lambda: CREDENTIALS,
                                        sink=self.websocket, control=self._control,
                                        guard=lambda headers: self.gate.tools_only("management", headers)).start()
        start_forkserver()
        for spec in self.model.functions.values():
            self.pools[spec.logical_id] = FunctionPool(
                spec.logical_id, spec.handler, self._function_env(spec.logical_id), str(self.root),
                timeout_s=spec.timeout_s, memory_mb=spec.memory_mb, cap=self.settings.concurrency,
                on_invoke=self._invoked)

    def _cors(self) -> Cors | None:
        """The HTTP API's CorsConfiguration, its references resolved (TemplateError when API
        Gateway would refuse it)."""
        resolver = self.resources.resolver
        if not self.model.cors or resolver is None:
            return None
        try:
            config = resolver(self.model.cors)
            return Cors(config) if config else None
        except (SimError, ValueError) as exc:
            raise TemplateError(f"{self.template_path}: {self.model.cors_field}: {exc}") from None

    def _store_secrets(self) -> None:
        """Put each ``--secret`` where the functions' ``MOTIA_SECRETS`` says they read it."""
        if not self.settings.secrets:
            return
        declared: dict[str, str] = {}
        for spec in self.model.functions.values():
            raw = self._function_env(spec.logical_id).get("MOTIA_SECRETS")
            if raw:
                declared.update(json.loads(raw))
        unknown = sorted(set(self.settings.secrets) - set(declared))
        if unknown:
            known = ", ".join(sorted(declared)) or "none"
            raise TemplateError(f"--secret {', '.join(unknown)}: not a secret of the app "
                                f"([tool.motia.secrets]: {known})")
        for name, value in self.settings.secrets.items():
            kind, _, where = declared[name].partition(":")
            if kind == "ssm":
                self.client("ssm").put_parameter(Name=where, Value=value, Type="SecureString", Overwrite=True)
            else:
                self.client("secretsmanager").create_secret(Name=where, SecretString=value)

    def client(self, service: AwsService) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(service, endpoint_url=self.moto_url, region_name=self.settings.region,
                            aws_access_key_id=CREDENTIALS.access_key, aws_secret_access_key=CREDENTIALS.secret_key,
                            config=Config(retries={"max_attempts": 2}))

    def _function_env(self, logical_id: str) -> dict[str, str]:
        spec = self.model.functions[logical_id]
        resolver = self.resources.resolver
        assert resolver is not None
        env: dict[str, str] = {}
        for name, value in spec.environment.items():
            try:
                resolved = resolver(value)
            except SimError as exc:
                self.log({"type": "warning", "function": logical_id,
                          "message": f"environment variable {name} left unset: {exc}"})
                continue
            if resolved is not None:
                env[name] = str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
        if self.management is not None:  # the stage's https URL on AWS, whatever the variable's name
            stage_url = re.compile(rf"https://{re.escape(self.api_id)}\.execute-api\.[^/]+/[^/]+/?")
            env = {k: self.management.endpoint if stage_url.fullmatch(v) else v for k, v in env.items()}
        if "MOTIA_PROJECT_ROOT" in env:
            env["MOTIA_PROJECT_ROOT"] = str(self.root)  # /var/task on AWS
        name = str(resolver.ref(logical_id))
        region = self.settings.region
        inherited = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")}
        return {**inherited, **env,
                "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}", "AWS_LAMBDA_LOG_STREAM_NAME": "local",
                "MOTIA_CLOUD_FUNCTION_ARN": resolver.get_att(logical_id, "Arn"),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python3.11'}", "_HANDLER": spec.handler,
                "LAMBDA_TASK_ROOT": str(self.root), "TZ": ":UTC",
                "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ACCESS_KEY_ID": CREDENTIALS.access_key, "AWS_SECRET_ACCESS_KEY": CREDENTIALS.secret_key,
                "PYTHONUNBUFFERED": "1", **self.settings.extra_env}

    def start_sources(self) -> None:
        region = self.settings.region
        peek = MotoPeek(ev.ACCOUNT_ID, region)  # moto runs in this process (provision)
        for source in self.model.sqs_sources:
            wake = threading.Event()
            self._wakes.append(wake)
            self._threads.append(SqsPoller(source, self.resources.queues_by_id[source.queue], self.client("sqs"),
                                           self.invoke, self.executor, self.pools[source.function].cap, region,
                                           wake, self.stop_event, peek))
        for stream_source in self.model.stream_sources:
            arn = self.resources.table_stream_arns.get(stream_source.table)
            if arn is None:
                raise TemplateError(f"{self.template_path}: resource {stream_source.table}: field "
                                    f"StreamSpecification: {stream_source.function} reads its stream, it has none")
            wake = threading.Event()
            self._wakes.append(wake)
            on_failure = self.resources.queues_by_id.get(stream_source.on_failure_queue or "")
            self._threads.append(StreamPoller(stream_source, arn, self.client("dynamodbstreams"), self.client("sqs"),
                                              self.invoke, on_failure, self.settings.stream_poll_s, wake,
                                              self.stop_event, peek))
        account = ev.ACCOUNT_ID
        self._threads.append(threading.Thread(target=self._reap, name="reaper", daemon=True))
        self._threads.append(threading.Thread(target=self._expire_ttl, name="ttl", daemon=True))
        self.scheduler = Scheduler(self.model.schedules,
                                   lambda s: f"arn:aws:events:{region}:{account}:rule/{s.name}",
                                   self.invoke, self.executor, region, self.stop_event)
        self._threads.append(self.scheduler)
        for thread in self._threads:
            thread.start()

    def _reap(self) -> None:
        idle_s = self.settings.environment_idle_s
        while not self.stop_event.wait(min(idle_s / 4, 30)):
            for pool in self.pools.values():
                ended = pool.reap(idle_s)
                if ended:
                    self.log({"type": "reclaim", "function": pool.name, "environments": ended})

    def _expire_ttl(self) -> None:
        tables = sorted(set(self.resources.table_names.values()))
        dynamodb = self.client("dynamodb")
        while not self.stop_event.wait(self.settings.ttl_sweep_s):
            try:
                if expire_due(dynamodb, tables):
                    self.kick()
            except Exception as exc:  # moto stopping, or a hiccup: the next round tries again
                self.log({"type": "ttl", "error": f"{type(exc).__name__}: {exc}"})

    # -- invoking ----------------------------------------------------------------------------
    def invoke(self, function: str, event: dict[str, Any]) -> Invocation:
        return self.pools[function].invoke(event)

    def kick(self) -> None:
        """Something happened (an invocation ended, a request came): pollers look now."""
        for wake in self._wakes:
            wake.set()

    async def _ainvoke(self, function: str, event: dict[str, Any]) -> Invocation:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.invoke, function, event)

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """``POST /__cloud/schedules/{name}`` runs a schedule now; ``GET /__cloud/status``."""
        parts = path.split("?", 1)[0].strip("/").split("/")
        if method == "POST" and len(parts) == 3 and parts[1] == "schedules" and self.scheduler is not None:
            try:
                result = self.scheduler.run_now(parts[2])
            except KeyError:
                return 404, json.dumps({"message": f"no schedule {parts[2]}"}).encode()
            return 200, json.dumps(result.log_line()).encode()
        if method == "GET" and parts[1:] == ["status"]:
            functions = {n: {"environments": p.environments, "coldStarts": p.started} for n, p in self.pools.items()}
            return 200, json.dumps({
                "functions": functions,
                "connections": self.websocket.open_connections if self.websocket else 0}).encode()
        return 404, b'{"message":"Not Found"}'

    # -- serving -----------------------------------------------------------------------------
    async def serve(self, ready: Callable[[CloudApp], None] | None = None) -> None:
        """Serve until ``stop()`` (or SIGINT/SIGTERM when run by ``run``)."""
        import uvicorn

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Any:  # the app handles signals, not uvicorn
                yield

        http = HttpApi(self.model.http_routes, self._ainvoke, api_id=self.api_id, region=self.settings.region,
                       cors=self.cors, gate=self.gate)
        server = _Server(uvicorn.Config(http, host=self.settings.host, port=self.http_port, log_level="warning",
                                        lifespan="off", access_log=False))
        ws_server = await self.websocket.serve(self.settings.host, self.ws_port) if self.websocket else None
        if ws_server is not None:
            self.ws_port = ws_server.sockets[0].getsockname()[1]
        serving = asyncio.ensure_future(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if serving.done():  # the port is taken, or similar: uvicorn said why
            serving.result()
            raise OSError(f"the HTTP API could not listen on {self.settings.host}:{self.http_port}")
        self.http_port = server.servers[0].sockets[0].getsockname()[1]
        self.start_sources()
        if ready is not None:
            ready(self)
        loop = asyncio.get_running_loop()
        stopped = asyncio.Event()
        self._wake_loop = lambda: loop.call_soon_threadsafe(stopped.set)
        while not self.stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), 0.5)
        server.should_exit = True
        if ws_server is not None and self.websocket is not None:  # both or neither
            ws_server.close()
            await ws_server.wait_closed()
            await self.websocket.drain()
        await serving

    def stop(self) -> None:
        self.stop_event.set()
        wake = self._wake_loop
        if wake is not None:
            with contextlib.suppress(RuntimeError):
                wake()

    def recycle(self) -> None:
        """New code: every function's next invocation is a cold start."""
        for pool in self.pools.values():
            pool.recycle()

    def close(self) -> None:
        self.stop_event.set()
        for pool in self.pools.values():
            pool.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.management is not None:
            self.management.stop()
        if self._moto is not None:
            with contextlib.suppress(Exception):
                self._moto.stop()

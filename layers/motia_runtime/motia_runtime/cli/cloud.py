"""``motia cloud``: serve template.yaml as deployed, on this machine (see docs/cloud-local.md)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .args import port, unlistenable


def add_parser(sub: Any) -> None:
    cloud = sub.add_parser("cloud", help="serve template.yaml as AWS would run it: HTTP and WebSocket APIs, "
                                         "Lambda workers and event sources on a local moto")
    cloud.add_argument("--root", default=".", help="project root holding template.yaml, functions/ and streams/")
    cloud.add_argument("--template", help="the SAM template (default: <root>/template.yaml)")
    cloud.add_argument("--host", default="127.0.0.1", help="where the HTTP and WebSocket APIs listen")
    cloud.add_argument("--allowed-host", action="append", metavar="NAME",
                       help="another Host name to answer to besides localhost, 127.0.0.1, [::1] and --host "
                            "(repeatable; also $MOTIA_ALLOWED_HOSTS, comma-separated; '*' for any): see "
                            "docs/cloud-local.md")
    cloud.add_argument("--port", type=port, default=4000, help="the HTTP API (default 4000)")
    cloud.add_argument("--ws-port", type=port, help="the WebSocket API (default: --port + 1)")
    cloud.add_argument("--concurrency", type=int, default=4,
                       help="execution environments (worker processes) per function at most (default 4)")
    cloud.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                       help="a template parameter, as sam deploy --parameter-overrides takes it (repeatable)")
    cloud.add_argument("--environment-idle", type=float, default=600, metavar="SECONDS",
                       help="end an execution environment idle this long; its next invocation starts cold (600)")
    cloud.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                       help="an environment variable for every function, over the template's (repeatable)")
    cloud.add_argument("--secret", action="append", default=[], metavar="NAME[=VALUE]",
                       help="a secret of the app ([tool.motia.secrets]), stored in the local SSM or Secrets "
                            "Manager where the functions read it on AWS; NAME alone takes the value of the "
                            "environment variable NAME, which other users cannot read in `ps` (repeatable)")
    cloud.add_argument("--visibility-timeout-cap", type=int, metavar="SECONDS",
                       help="shorten the event queues' visibility timeouts to at most this (AWS: the template's)")
    cloud.add_argument("--no-reload", dest="reload", action="store_false",
                       help="do not start new environments when functions/ or streams/ change")
    cloud.set_defaults(func=run)


def _pairs(flag: str, pairs: list[str]) -> dict[str, str] | str:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            unset = " (nor a variable set in the environment)" if flag == "--secret" else ""
            return f"{flag} {pair!r} is not NAME=VALUE{unset}"
        out[name] = value
    return out


def _watch(app: Any, stop: threading.Event) -> None:
    from watchfiles import watch

    dirs = [str(p) for p in (app.root / "functions", app.root / "streams") if p.is_dir()]
    paths = [*dirs, str(app.template_path)]
    for changes in watch(*paths, stop_event=stop, raise_interrupt=False):
        files = sorted({Path(p).name for _, p in changes})
        if any(Path(p) == app.template_path for _, p in changes):
            app.log({"type": "reload", "files": files, "message": "template.yaml changed: restart motia cloud to "
                     "make its resources again (only code reloads live)"})
        if any(p.endswith(".py") for _, p in changes):
            app.recycle()
            app.log({"type": "reload", "files": files, "message": "code changed: next invocations start cold"})


def run(args: argparse.Namespace) -> int:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        print(f"motia cloud needs moto's server ({exc}): pip install 'motia-runtime[cloud]'", file=sys.stderr)
        return 1
    from ..emulation import CloudApp, CloudSettings, TemplateError
    from ..hosts.local.settings import ENV_ALLOWED_HOSTS, allowed_hosts

    parameters, extra_env = _pairs("--parameter", args.parameter), _pairs("--env", args.env)
    # A value on the command line is in /proc/<pid>/cmdline, readable by every user of the machine:
    # `--secret NAME` reads it from this process's environment instead.
    secrets = _pairs("--secret", [p if "=" in p or p not in os.environ else f"{p}={os.environ[p]}"
                                  for p in args.secret])
    for problem in (parameters, extra_env, secrets):
        if isinstance(problem, str):
            print(f"motia cloud: {problem}", file=sys.stderr)
            return 2
    assert isinstance(parameters, dict) and isinstance(extra_env, dict) and isinstance(secrets, dict)
    if args.concurrency < 1 or args.environment_idle <= 0:
        print("motia cloud: --concurrency must be at least 1 and --environment-idle above 0", file=sys.stderr)
        return 2
    configured = ",".join(filter(None, [os.environ.get(ENV_ALLOWED_HOSTS), *(args.allowed_host or [])]))
    settings = CloudSettings(Path(args.root), template=Path(args.template) if args.template else None,
                             host=args.host, allowed_hosts=allowed_hosts(args.host, configured),
                             port=args.port, ws_port=args.ws_port, concurrency=args.concurrency,
                             parameters=parameters, extra_env=extra_env, secrets=secrets, reload=args.reload,
                             environment_idle_s=args.environment_idle,
                             visibility_timeout_cap=args.visibility_timeout_cap)
    app = CloudApp(settings)
    try:
        app.load()
    except TemplateError as exc:
        print(f"motia cloud: {exc}", file=sys.stderr)
        return 2
    # Before moto starts and the resources are made (seconds), and the ports are known once the
    # template has said whether there is a WebSocket API.
    for taken, flag in [(settings.port, "--port"), *([(app.ws_port, "--ws-port")] if app.model.websocket else [])]:
        if unlistenable("motia cloud", settings.host, taken, flag):
            return 1
    try:
        app.provision()
    except TemplateError as exc:
        app.close()
        print(f"motia cloud: {exc}", file=sys.stderr)
        return 2

    def ready(app: CloudApp) -> None:
        assert app.management is not None  # start() made it before it calls ready
        stage = app.model.websocket.stage if app.model.websocket else ""
        host = settings.host
        print(f"motia cloud: HTTP API  http://{host}:{app.http_port}\n"
              f"             WebSocket ws://{host}:{app.ws_port}/{stage}\n"
              f"             AWS services (moto) {app.moto_url}   Management API {app.management.endpoint}\n"
              f"             {len(app.pools)} functions; run a schedule now: "
              f"curl -X POST {app.management.endpoint.rsplit('/', 1)[0]}/__cloud/schedules/<name>",
              file=sys.stderr, flush=True)
        for kind, ids in sorted(app.model.ignored.items()):
            app.log({"type": "not-emulated", "resourceType": kind, "resources": ids})

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, app.stop)
        await app.serve(ready)

    stop_watch = threading.Event()
    if args.reload:
        threading.Thread(target=_watch, args=(app, stop_watch), name="reload", daemon=True).start()
    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"motia cloud: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_watch.set()
        app.close()
    print("motia cloud: stopped", file=sys.stderr)
    return 0

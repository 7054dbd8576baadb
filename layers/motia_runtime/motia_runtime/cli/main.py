"""``motia dev | check | generate | build | openapi | cloud | watch | create | types``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, MotiaError
from .args import port, unlistenable
from .extras import missing_extra
from .project_commands import add_parsers as add_project_commands

if TYPE_CHECKING:
    from ..hosts.local.settings import DevSettings


def _dev(args: argparse.Namespace) -> int:
    import logging

    import uvicorn
    from uvicorn.config import LOG_LEVELS

    from ..hosts.local.head_timeout import protocol_name
    from ..hosts.local.settings import ENV_SETTINGS

    failed = _shared_storage(args) or unlistenable("motia", args.host, args.port)
    if failed:
        return failed
    try:
        settings = _dev_settings(args)
    except ConfigError as exc:  # a limit variable that is not a whole number within its bounds
        print(f"motia: {exc}", file=sys.stderr)
        return 2
    reload_dirs = [str(p) for p in (settings.root / "functions", settings.root / "streams") if p.is_dir()]
    reload = bool(args.reload and reload_dirs and args.workers == 1)
    settings = dataclasses.replace(settings, reload=reload)
    app: Any = "motia_runtime.hosts.local.app:create_app"  # uvicorn's reload and workers need the import string
    # With reload this process only supervises: the worker uvicorn spawns loads the project and
    # reports a broken step itself, then waits for a change. Loading it here too doubled the start-up.
    if not reload:
        from ..hosts.local.app import LocalHost

        try:  # loaded up front so a broken step is reported before the server starts
            host = LocalHost.open(settings)
        except ConfigError as exc:
            print(f"motia: {exc.located()}", file=sys.stderr)
            return 2
        if args.workers == 1:
            app = host.app()  # served as it is: the project is loaded once
        else:  # each worker builds its own; this one only checked the project, so let its database go
            host.db.close()
    if isinstance(app, str):
        # uvicorn starts the worker processes by importing create_app and calling it with no
        # argument; what they inherit from this one is the environment: one serialized value.
        os.environ[ENV_SETTINGS] = settings.to_json()
    base = f"{args.host}:{args.port}"
    print(f"motia dev: API http://{base}  streams ws://{base}\n"
          f"           Workbench http://{base}/  (API docs: http://{base}/openapi.json)", file=sys.stderr)
    options: dict[str, Any] = dict(
        factory=isinstance(app, str),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        # Above info no access line is ever written, yet uvicorn still calls its access logger on
        # every response while that logger has a handler: ~2 % of a GET /ping's CPU
        # (bench/optimisations.md). Without access_log it has none.
        access_log=LOG_LEVELS.get(args.log_level.lower(), logging.NOTSET) <= logging.INFO,
        # uvicorn's sans-I/O WebSocket protocol, with the hub's direct frame writes; named, not
        # imported, so only the process that serves imports it.
        ws="motia_runtime.hosts.local.frames:FrameWriterProtocol",
        # uvicorn's HTTP protocol with a deadline on request heads (half-sent handshakes included).
        http=protocol_name(settings.limits.header_timeout_s),
        # Frames are small JSON; compressing each one per connection cost 4 times the rest of a send
        # (bench/RESULTS.md). Motia's server does not negotiate permessage-deflate either.
        ws_per_message_deflate=False,
    )
    if reload:  # uvicorn's supervisor, watching from before the worker starts (hosts/local/reload.py)
        from ..hosts.local.reload import run_reloading

        run_reloading(app, reload_dirs=reload_dirs, reload_includes=["*.py"], **options)
    elif args.workers > 1:  # each worker on a socket of its own, balanced by the kernel (Linux)
        from ..hosts.local.workers import run as run_workers

        return run_workers(app, **options)
    else:
        uvicorn.run(app, **options)
    return 0


def _dev_settings(args: argparse.Namespace) -> DevSettings:
    """The local host's settings from ``motia dev``'s flags and the environment (docs/auth.md)."""
    from ..hosts.local.settings import ENV_ALLOWED_HOSTS, ENV_CORS, DevSettings, allowed_hosts, cors_origins
    from ..limits import Limits

    root = Path(args.root).resolve()
    configured = ",".join(filter(None, [os.environ.get(ENV_ALLOWED_HOSTS), *(args.allowed_host or [])]))
    return DevSettings(
        root=root,
        data_dir=Path(args.data_dir).resolve() if args.data_dir else root / ".motia",
        redis_url=args.redis_url or None,  # an explicit empty flag overrides MOTIA_REDIS_URL
        allowed_hosts=allowed_hosts(args.host, configured),
        cors_origins=cors_origins(os.environ.get(ENV_CORS)),
        freeze_gc=True,  # this process lives as long as the server (app.py)
        limits=Limits.from_env(),  # read once, here; every worker gets them in MOTIA_DEV_SETTINGS
    )


def _shared_storage(args: argparse.Namespace) -> int:
    """Check the storage setup can work; 0, or the exit code."""
    if args.workers < 1:
        print("motia: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not args.redis_url:
        print(f"motia: --workers {args.workers} needs shared storage: pass --redis-url (or set MOTIA_REDIS_URL). "
              "With SQLite each worker would push only the stream changes it made itself.", file=sys.stderr)
        return 2
    if not args.redis_url:
        return 0
    try:
        from ..adapters.redis import check_reachable
    except ImportError:  # the redis extra
        print("motia dev --redis-url needs the redis extra: pip install 'motia-runtime[redis]'", file=sys.stderr)
        return 2
    try:
        check_reachable(args.redis_url)
    except MotiaError as exc:
        print(f"motia: {exc}", file=sys.stderr)
        return 1
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tools.typegen import refresh as refresh_types

    try:
        project = load_project(args.root)
    except ConfigError as exc:
        print(f"motia: {exc.located()}", file=sys.stderr)
        return 2
    for warning in project.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    refresh_types(project)
    print(f"{len(project.steps)} steps, {len(project.streams)} streams: OK")
    return 0


def _watch(args: argparse.Namespace) -> int:
    import asyncio

    try:
        from ..client.watch import until_stopped, watch
    except ImportError as exc:  # websockets is an extra
        print(f"motia watch needs websockets ({exc}): pip install 'motia-runtime[client]'", file=sys.stderr)
        return 1
    try:
        # Ctrl-C (or SIGTERM) is how a watch ends, whatever signal dispositions it inherited
        return asyncio.run(until_stopped(watch(args.url, args.stream, args.group, args.id, args.token, args.json)))
    except KeyboardInterrupt:  # a Ctrl-C before the handlers are in place
        return 0


def _generate(args: argparse.Namespace) -> int:
    from ..tools.generate import generate

    return generate(args.root, args.output, check=args.check)


def _build(args: argparse.Namespace) -> int:
    from ..tools.build import build

    return build(args.root, sam=args.sam, skip_sam=args.no_sam)


def _openapi(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tools.openapi import build_openapi, render_json

    try:
        text = render_json(build_openapi(load_project(args.root)))
    except ConfigError as exc:
        print(f"motia: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motia", description="Motia-style steps and streams, locally and on AWS.")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run every step in one process with the stream WebSocket")
    dev.add_argument("--root", default=".", help="project root holding functions/ and streams/ (default: .)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--allowed-host", action="append", metavar="NAME",
                     help="another Host name to answer to besides localhost, 127.0.0.1, [::1] and --host "
                          "(repeatable; also $MOTIA_ALLOWED_HOSTS, comma-separated; '*' for any): see docs/auth.md")
    dev.add_argument("--port", type=port, default=3000)
    dev.add_argument("--data-dir", help="where SQLite keeps state, streams and queues (default: <root>/.motia)")
    dev.add_argument("--no-reload", dest="reload", action="store_false", help="do not restart when files change")
    dev.add_argument("--log-level", default="warning", help="uvicorn's own log level (steps use LOG_LEVEL)")
    dev.add_argument("--redis-url", default=os.environ.get("MOTIA_REDIS_URL"),
                     help="keep state and streams in Redis, shared by workers and machines "
                          "(default: $MOTIA_REDIS_URL; without it, SQLite in --data-dir)")
    dev.add_argument("--workers", type=int, default=1,
                     help="worker processes behind the one port; more than 1 needs --redis-url and turns off reload")
    dev.set_defaults(func=_dev)

    check = sub.add_parser("check", help="load and validate every step and stream, then exit")
    check.add_argument("--root", default=".")
    check.set_defaults(func=_check)

    gen = sub.add_parser("generate", help="write the SAM template (template.yaml) from the steps and streams")
    gen.add_argument("--root", default=".")
    gen.add_argument("--output", help="where to write it (default: <root>/template.yaml)")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if the file is stale")
    gen.set_defaults(func=_generate)

    build = sub.add_parser("build", help="check template.yaml, then write the Lambda code, layers and bytecode "
                                         "(and run sam validate + sam build when the SAM CLI is there)")
    build.add_argument("--root", default=".")
    build.add_argument("--sam", help="the sam executable (default: $MOTIA_SAM, else sam on PATH)")
    build.add_argument("--no-sam", action="store_true", help="stop after the code and layers")
    build.set_defaults(func=_build)

    openapi = sub.add_parser("openapi", help="print (or write) the OpenAPI 3.1 document of the API steps")
    openapi.add_argument("--root", default=".")
    openapi.add_argument("--output", help="a file to write instead of standard output")
    openapi.set_defaults(func=_openapi)

    from .cloud import add_parser as add_cloud

    add_cloud(sub)

    watch = sub.add_parser("watch", help="print a stream item's or group's changes live (Ctrl-C to stop)")
    watch.add_argument("stream")
    watch.add_argument("group")
    watch.add_argument("id", nargs="?", help="an item id; without it, the whole group")
    watch.add_argument("--url", default="ws://127.0.0.1:3000",
                       help="the stream socket (ws:// or wss://), or the http(s):// base URL of motia dev")
    watch.add_argument("--token", help="sent as Motia does: Sec-WebSocket-Protocol: Authorization, <token>")
    watch.add_argument("--json", action="store_true", help="one JSON object per change")
    watch.set_defaults(func=_watch)
    add_project_commands(sub)
    return parser


#: The commands that load the project at --root (default: the current folder).
PROJECT_COMMANDS = frozenset({"dev", "check", "generate", "build", "openapi", "types"})


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling (importing, loading the project)
        print(file=sys.stderr)  # past the ^C the terminal echoed
        return 130  # as a shell reports an interrupted command: 128 + SIGINT


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    missing = missing_extra(args.command)
    if missing:  # before the command imports what is not installed
        print(missing, file=sys.stderr)
        return 2
    if args.command in PROJECT_COMMANDS:
        from ..project import not_a_project

        # Most likely the wrong folder (a step's own, in an editor's terminal): say so and fail,
        # before motia types or generate write a module or template of no steps there, or motia
        # dev serves an empty app.
        if reason := not_a_project(args.root):
            print(f"motia: {reason}", file=sys.stderr)
            return 2
    try:
        return int(args.func(args))
    except OSError as exc:  # a file or folder it cannot read or write: --output, --data-dir, permissions
        print(f"motia {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

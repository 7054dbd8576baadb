"""``motia dev | check`` (``generate`` and ``watch`` arrive with the AWS and client tools)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ConfigError


def _dev(args: argparse.Namespace) -> int:
    import uvicorn

    from ..hosts.local.app import ENV_DATA_DIR, ENV_ROOT, DevSettings, LocalHost

    root = Path(args.root).resolve()
    os.environ[ENV_ROOT] = str(root)
    if args.data_dir:
        os.environ[ENV_DATA_DIR] = str(Path(args.data_dir).resolve())
    try:
        # Load once up front so a broken step is reported before the server starts.
        LocalHost(DevSettings.from_env())
    except ConfigError as exc:
        print(f"motia: {exc}", file=sys.stderr)
        return 2
    print(f"motia dev: http://{args.host}:{args.port} (WebSocket ws://{args.host}:{args.port})", file=sys.stderr)
    reload_dirs = [str(p) for p in (root / "functions", root / "streams") if p.is_dir()]
    uvicorn.run(
        "motia_runtime.hosts.local.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        **({"reload": True, "reload_dirs": reload_dirs, "reload_includes": ["*.py"]}
           if args.reload and reload_dirs else {}),
        log_level=args.log_level,
        ws="websockets-sansio" if _has_sansio() else "websockets",
    )
    return 0


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True


def _check(args: argparse.Namespace) -> int:
    from ..project import load_project

    try:
        project = load_project(args.root)
    except ConfigError as exc:
        print(f"motia: {exc}", file=sys.stderr)
        return 2
    for warning in project.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{len(project.steps)} steps, {len(project.streams)} streams: OK")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motia", description="Motia-style steps and streams, locally and on AWS.")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run every step in one process with the stream WebSocket")
    dev.add_argument("--root", default=".", help="project root holding functions/ and streams/ (default: .)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--data-dir", help="where SQLite keeps state, streams and queues (default: <root>/.motia)")
    dev.add_argument("--no-reload", dest="reload", action="store_false", help="do not restart when files change")
    dev.add_argument("--log-level", default="warning", help="uvicorn's own log level (steps use LOG_LEVEL)")
    dev.set_defaults(func=_dev)

    check = sub.add_parser("check", help="load and validate every step and stream, then exit")
    check.add_argument("--root", default=".")
    check.set_defaults(func=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

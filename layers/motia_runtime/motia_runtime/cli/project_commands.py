"""``motia create`` and ``motia types``: the commands that start and type a project of your own."""

from __future__ import annotations

import argparse
import os

ENV_RUNTIME_SPEC = "MOTIA_RUNTIME_SPEC"


def _types(args: argparse.Namespace) -> int:
    from ..tools.typegen import write_types

    return write_types(args.root, check=args.check)


def _create(args: argparse.Namespace) -> int:
    from ..tools.create import create

    return create(args.dir, template=args.template, runtime_spec=args.runtime_spec, force=args.force)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ..tools.create import TEMPLATES

    create = sub.add_parser("create", help="start a project of your own: functions/, streams/, tests, Makefile")
    create.add_argument("dir", help="the folder to create (it must not exist, or be empty)")
    create.add_argument("--template", choices=sorted(TEMPLATES), default="minimal",
                        help="minimal: one API step, one event step, one stream; pets: the pet shelter walkthrough")
    create.add_argument("--runtime-spec", default=os.environ.get(ENV_RUNTIME_SPEC),
                        help="what the project's `make install` gives pip for motia-runtime: a wheel, a source "
                             "folder or a requirement (default: $MOTIA_RUNTIME_SPEC, else where this motia-runtime "
                             "was installed from when that is a local file, else motia-runtime==<this version>)")
    create.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    create.set_defaults(func=_create)

    types = sub.add_parser("types", help="write motia_types.py: typed requests, contexts, streams and emits per step")
    types.add_argument("--root", default=".")
    types.add_argument("--check", action="store_true", help="write nothing; exit 1 if motia_types.py is stale")
    types.set_defaults(func=_types)

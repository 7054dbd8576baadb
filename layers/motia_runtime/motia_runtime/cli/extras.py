"""Which optional extra each command needs, and the one-line message when it is missing.

``pip install motia-runtime`` installs the core (steps, streams, ``motia check``, ``motia create``,
``motia types``); serving, deploying and the clients need extras. A command whose extra is absent
exits 2 with the line to run, before importing anything that would fail with a traceback.
"""

from __future__ import annotations

from importlib.util import find_spec

# command -> (extra, the top-level modules it brings that the command imports)
NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dev": ("local", ("uvicorn", "starlette", "websockets", "watchfiles")),
    "generate": ("aws", ("yaml",)),
    "build": ("aws", ("yaml", "packaging")),
    "cloud": ("cloud", ("uvicorn", "starlette", "websockets", "boto3", "moto")),
    "watch": ("client", ("websockets",)),
}


def missing_extra(command: str) -> str | None:
    """The message for ``command`` when a module of its extra is not installed, else None."""
    need = NEEDS.get(command)
    if need is None:
        return None
    extra, modules = need
    absent = [m for m in modules if find_spec(m) is None]
    if not absent:
        return None
    return f"motia {command} needs the {extra} extra: pip install 'motia-runtime[{extra}]'"

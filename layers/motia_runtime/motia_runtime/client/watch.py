"""``motia watch``: print a stream item's or group's changes as they arrive.

Human output is one line per change (``--json``: one JSON object per line, for piping);
connection status goes to stderr so stdout stays the data.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any, TextIO

from ..errors import StreamError
from .connection import ConnectionStatus, StreamClient
from .subscription import Change


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # a JSON escape is UTF-16: a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def terminal_safe(line: str) -> str:
    """``line`` with every non-printable character written as a JSON ``\\uXXXX`` escape.

    Ids, event types and item text come from the app's users: printed raw, an ESC or C1
    sequence in them would drive the terminal watching (retitle it, clear it, rewrite what it
    shows). The escape keeps a ``--json`` line valid JSON (they can only be inside strings)."""
    return line if line.isprintable() else "".join(c if c.isprintable() else _escape(c) for c in line)


def format_change(change: Change[Any], as_json: bool) -> list[str]:
    return [terminal_safe(line) for line in _format_change(change, as_json)]


def _format_change(change: Change[Any], as_json: bool) -> list[str]:
    if as_json:
        out: dict[str, Any] = {"type": change.kind, "id": change.id, "timestamp": change.timestamp}
        if change.kind == "event":
            out["event"] = change.event_type
        elif change.version is not None:
            out["version"] = change.version
        out["data"] = change.data
        return [_json(out)]
    clock = time.strftime("%H:%M:%S", time.localtime(change.timestamp / 1000)) if change.timestamp else "--:--:--"
    if change.kind == "event":
        return [f"{clock} event  {change.event_type} {_json(change.data)}"]
    if change.kind == "sync" and isinstance(change.data, list):
        rows = [f"         {i.get('id')} {_json(i)}" for i in change.data]
        return [f"{clock} sync   {len(change.data)} item(s)", *rows]
    return [f"{clock} {change.kind:<6} {change.id} {_json(change.data)}"]


async def watch(url: str, stream: str, group: str, id: str | None, token: str | None, as_json: bool,
                out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    client = StreamClient(url, token)

    def status(value: ConnectionStatus) -> None:
        detail = f" ({client.error}; retry in {client.next_retry_s:.1f}s)" \
            if value is ConnectionStatus.RECONNECTING and client.next_retry_s is not None else ""
        print(terminal_safe(f"motia watch: {value.value}{detail}"), file=err, flush=True)  # detail: a close reason

    client.on_status(status)
    try:
        await client.connect()
        sub = client.subscribe_item(stream, group, id) if id is not None else client.subscribe_group(stream, group)
        async for change in sub.changes():
            for line in format_change(change, as_json):
                print(line, file=out, flush=True)
    except StreamError as exc:  # connection, credentials or a refused join: say which, no traceback
        print(terminal_safe(f"motia watch: {exc}"), file=err, flush=True)  # a refusal's text is the server's
        return 1
    finally:
        await client.close()
    return 0


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def until_stopped(run: Coroutine[Any, Any, int]) -> int:
    """Run ``run`` until it ends, or until SIGINT or SIGTERM, which end it cleanly with 0.

    The handlers are installed here rather than relying on Python's: a process started detached
    (``nohup``, ``setsid ... &``, a script's background job) inherits SIGINT ignored, so no
    KeyboardInterrupt would ever come, and SIGTERM would kill it without closing the socket.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(run)
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled():  # stopped by a signal: the watch's own finally closed the connection
            return 0
        raise
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

"""``motia watch`` as a user runs it: a subprocess printing live changes, stopped with Ctrl-C.

Every process a test starts goes through the ``watch`` fixture, which kills whatever is still
running when the test ends, passed or failed: a detached run (SIGINT ignored) must not leave
``motia watch`` processes behind.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.client.project import ops, todo
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow


StartWatch = Callable[..., Awaitable[asyncio.subprocess.Process]]


def _ignore_stop_signals() -> None:
    # What a detached run hands down: `nohup`, `setsid ... &` or a script's background job start
    # their children with SIGINT (and here SIGTERM too) ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@pytest.fixture
async def start_watch() -> AsyncIterator[StartWatch]:
    """Start ``motia watch``; every process started is killed and reaped when the test ends."""
    started: list[asyncio.subprocess.Process] = []

    async def start(*args: str, ignoring_signals: bool = False) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "motia_runtime", "watch", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            preexec_fn=_ignore_stop_signals if ignoring_signals else None,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def read_line(proc: asyncio.subprocess.Process, timeout: float = 10) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    assert line, "motia watch closed its output"
    return line.decode().rstrip("\n")


async def interrupt(proc: asyncio.subprocess.Process, sig: int = signal.SIGINT) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def wait_open(proc: asyncio.subprocess.Process) -> None:
    assert proc.stderr is not None
    line = await asyncio.wait_for(proc.stderr.readline(), 15)
    assert b"motia watch: open" in line, line


async def test_watch_group_json_prints_every_change(server: InProcessServer, group: str,
                                                    start_watch: StartWatch) -> None:
    proc = await start_watch("todo", group, "--url", server.ws_url, "--json")
    await wait_open(proc)
    first = json.loads(await read_line(proc))
    assert (first["type"], first["data"]) == ("sync", [])

    await ops(server.url, todo(group, "a", "one"))
    await ops(server.url, todo(group, "a", "two"))
    await ops(server.url, {"op": "send", "group": group, "type": "typing", "data": {"who": "bo"}})
    await ops(server.url, {"op": "delete", "group": group, "id": "a"})
    lines: list[dict[str, Any]] = [json.loads(await read_line(proc)) for _ in range(4)]
    assert [(x["type"], x["id"]) for x in lines] == [("create", "a"), ("update", "a"), ("event", None),
                                                      ("delete", "a")]
    assert lines[1]["data"]["text"] == "two" and lines[1]["version"] == 2
    assert (lines[2]["event"], lines[2]["data"]) == ("typing", {"who": "bo"})
    code, err = await interrupt(proc)  # on a failure above, the fixture kills it
    assert code == 0
    assert "Traceback" not in err


async def test_watch_item_human_output(server: InProcessServer, group: str, start_watch: StartWatch) -> None:
    await ops(server.url, todo(group, "a", "hello"))
    proc = await start_watch("todo", group, "a", "--url", server.ws_url)
    await wait_open(proc)
    assert '"text":"hello"' in await read_line(proc)
    await ops(server.url, todo(group, "a", "world", done=True))
    line = await read_line(proc)
    assert " update " in line and '"text":"world"' in line and '"done":true' in line
    code, err = await interrupt(proc)
    assert code == 0 and "Traceback" not in err


async def test_watch_takes_the_http_url_motia_dev_prints(server: InProcessServer, group: str,
                                                        start_watch: StartWatch) -> None:
    # The URL a user has is the API's (``http://``); the socket is on the same host and port.
    await ops(server.url, todo(group, "a", "hello"))
    assert server.url.startswith("http://")
    proc = await start_watch("todo", group, "a", "--url", server.url)
    await wait_open(proc)
    assert '"text":"hello"' in await read_line(proc)
    code, err = await interrupt(proc)
    assert code == 0 and "Traceback" not in err


async def test_watch_prints_no_terminal_control_sequences_from_the_data(server: InProcessServer, group: str,
                                                                        start_watch: StartWatch) -> None:
    # An id, an event type and item text are the app's users' to choose: ESC (retitle, clear the
    # screen), BEL and the 8-bit CSI must reach the terminal as text, not as commands.
    hostile_id = "a\x1b]0;owned\x07\x1b[2J"
    await ops(server.url, {"op": "set", "group": group, "id": hostile_id, "data": {"text": "x\x1b[31mred\u009b1m"}})
    human = await start_watch("todo", group, "--url", server.ws_url)
    as_json = await start_watch("todo", group, "--url", server.ws_url, "--json")
    await wait_open(human)
    await wait_open(as_json)
    lines = [await read_line(human), await read_line(human)]
    await ops(server.url, {"op": "send", "group": group, "id": hostile_id, "type": "t\x1b[1m", "data": 1})
    lines.append(await read_line(human))
    sync = await read_line(as_json)
    for proc in (human, as_json):
        await interrupt(proc)
    for line in [*lines, sync]:
        assert line.isprintable(), repr(line)
    assert "a\\u001b]0;owned\\u0007\\u001b[2J" in lines[1] and "\\u009b1m" in lines[1]
    assert "event  t\\u001b[1m" in lines[2]
    item = json.loads(sync)["data"][0]  # --json lines stay JSON, with the exact values
    assert item["id"] == hostile_id and item["text"] == "x\x1b[31mred\u009b1m"


async def test_watch_with_a_bad_token_exits_with_the_reason(server: InProcessServer, group: str,
                                                            start_watch: StartWatch) -> None:
    proc = await start_watch("todo", group, "--url", server.ws_url, "--token", "stolen")
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 1
    assert "refused" in err.decode() and "Traceback" not in err.decode()
    assert out == b""


async def test_watch_an_unknown_stream_says_so(server: InProcessServer, group: str, start_watch: StartWatch) -> None:
    proc = await start_watch("nope", group, "--url", server.ws_url)
    _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 1 and "STREAM_NOT_FOUND" in err.decode()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_watch_stops_on_a_signal_it_inherited_as_ignored(server: InProcessServer, group: str,
                                                               start_watch: StartWatch, sig: int) -> None:
    proc = await start_watch("todo", group, "--url", server.ws_url, ignoring_signals=True)
    await wait_open(proc)
    assert "sync" in await read_line(proc)
    code, err = await interrupt(proc, sig)
    assert code == 0 and "Traceback" not in err, err

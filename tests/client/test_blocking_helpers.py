"""The blocking helpers, used from plain (non-async) test code as a script would."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from motia_runtime.client.blocking import collect, watch_group, watch_item
from motia_runtime.errors import StreamAuthError
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow


def post(server: InProcessServer, *operations: dict) -> None:  # type: ignore[type-arg]
    httpx.post(f"{server.url}/ops", json={"ops": list(operations)}, timeout=10).raise_for_status()


def later(delay: float, fn, *args) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=lambda: (time.sleep(delay), fn(*args)), daemon=True)
    thread.start()
    return thread


def test_watch_item_yields_states_until_the_caller_stops(server: InProcessServer, group: str) -> None:
    seen = []
    writer = None
    for state in watch_item(server.ws_url, "todo", group, "a"):
        seen.append(state and state["text"])
        if state is None:
            writer = later(0.05, post, server, {"op": "set", "group": group, "id": "a", "data": {"text": "1"}},
                           {"op": "set", "group": group, "id": "a", "data": {"text": "2"}})
        if seen[-1] == "2":
            break
    assert writer is not None
    assert seen == [None, "1", "2"]


def test_watch_group_and_collect(server: InProcessServer, group: str) -> None:
    post(server, {"op": "set", "group": group, "id": "x", "data": {"text": "x"}})
    states = watch_group(server.ws_url, "todo", group)
    assert [i["id"] for i in next(states)] == ["x"]
    states.close()  # stops its loop thread

    later(0.1, post, server, {"op": "set", "group": group, "id": "y", "data": {"text": "y"}})
    items = collect(server.ws_url, "todo", group, until=lambda items: len(items) == 2, timeout=10)
    assert [i["id"] for i in items] == ["x", "y"]
    assert collect(server.ws_url, "todo", group, "x")["text"] == "x"
    with pytest.raises(TimeoutError):
        collect(server.ws_url, "todo", group, "x", until=lambda item: False, timeout=0.3)


def test_helpers_raise_auth_errors(server: InProcessServer, group: str) -> None:
    with pytest.raises(StreamAuthError):
        collect(server.ws_url, "todo", group, auth_token="stolen", timeout=5)
    with pytest.raises(StreamAuthError):
        next(watch_item(server.ws_url, "todo", group, "a", auth_token="stolen"))


# A script as a user writes it: blocked in collect() (or a watch loop) until Ctrl-C.
INTERRUPTED_SCRIPT = """
import sys
from motia_runtime.client.blocking import collect, watch_group

url, group, which = sys.argv[1:]

def waiting(state):
    print("synced", flush=True)
    return False

if which == "collect":
    collect(url, "todo", group, until=waiting, timeout=60)
else:
    for state in watch_group(url, "todo", group):
        waiting(state)
"""


@pytest.mark.parametrize("which", ["collect", "watch_group"])
def test_ctrl_c_closes_the_connection_without_a_pile_of_asyncio_errors(server: InProcessServer, group: str,
                                                                       which: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED_SCRIPT, server.ws_url, group, which],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "synced\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGINT  # Python's way out of an uncaught KeyboardInterrupt
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    # The interrupted coroutine closed its client: no task abandoned on a stopped loop.
    assert "Task was destroyed" not in err and "Event loop is closed" not in err, err

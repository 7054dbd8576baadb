"""Several ``motia dev`` workers sharing one Redis and one data dir, over real sockets.

The deterministic setup: two separate processes on two ports (a client on worker A, writes made
through worker B). ``--workers 2`` behind one port is checked as well, as users run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.dev_server import DevServer
from tests.support.fake_openai import free_port
from tests.support.ws import MotiaItemState, StreamSocket

from .conftest import APP
from .server import RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevServer, DevServer]]:
    redis = RedisServer(tmp_path_factory.mktemp("redis")).start()
    data_dir = tmp_path_factory.mktemp("motia-data")  # one SQLite queue for both
    env = {"MOTIA_REDIS_URL": redis.url}
    a = DevServer(APP, data_dir, env=env).start()
    b = DevServer(APP, data_dir, env=env).start()
    yield a, b
    a.stop()
    b.stop()
    redis.stop()


def _group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


async def _post(server: DevServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _snapshot(server: DevServer, group: str) -> list[dict[str, Any]]:
    """The group as a client joining now gets it (its sync frame)."""
    ws = await StreamSocket.connect(server.ws_url)
    await ws.join("notes", group)
    frames = await ws.recv_until(lambda f: f["event"]["type"] == "sync")
    await ws.close()
    return frames[-1]["event"]["data"]  # type: ignore[no-any-return]


async def test_a_client_on_worker_a_sees_every_change_made_through_worker_b(
        workers: tuple[DevServer, DevServer]) -> None:
    a, b = workers
    group = _group()
    on_a, on_b = await StreamSocket.connect(a.ws_url), await StreamSocket.connect(b.ws_url)
    for ws in (on_a, on_b):
        await ws.join("notes", group, "x")
        assert (await ws.recv())["event"] == {"type": "sync", "data": None}
        await ws.join("notes", group)
        assert (await ws.recv())["event"] == {"type": "sync", "data": []}

    written = await _post(b, f"/notes/{group}/x", {"op": "set", "data": {"text": "from b"}})
    assert written["pid"] != (await _post(a, f"/notes/{group}/none", {"op": "get"}))["pid"]
    await _post(b, f"/notes/{group}/x", {"op": "update"})
    await _post(b, f"/notes/{group}/x", {"op": "send", "event": {"type": "typing", "data": {"who": "b"}}})
    await _post(a, f"/notes/{group}/x", {"op": "delete"})

    for ws in (on_a, on_b):
        frames = await ws.recv_until(lambda f: f["event"]["type"] == "delete")
        frames += await ws.drain()
        # Each change exactly once per connection (Motia's clients route it to the item and the
        # group subscription themselves), in the order the changes were made.
        assert [f["event"]["type"] for f in frames] == ["create", "update", "event", "delete"]
        create, update, event, _ = frames
        created = create["event"]["data"]
        assert created == {"text": "from b", "id": "x", "_createdAt": created["_createdAt"]}
        assert update["event"]["data"]["n"] == 1 and update["version"] == 2
        assert event["event"] == {"type": "event", "event": {"type": "typing", "data": {"who": "b"}}}
        stamps = [f["timestamp"] for f in frames]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        await ws.close()


async def test_workers_share_changes_through_redis_on_its_unix_socket(tmp_path: Path, start_redis: Any) -> None:
    """A Redis on the workers' own machine can be reached through its socket file (docs/storage.md): the
    script link, the change feed and ``motia dev``'s reachability check all go through it, password
    included. Without Redis a change reaches only its own worker's clients, so the frame on A is the feed's."""
    redis = start_redis(unix_socket=True, password="s3cret")
    assert redis.url.startswith("unix://:s3cret@/")
    env = {"MOTIA_REDIS_URL": redis.url}
    a = DevServer(APP, tmp_path, env=env).start()
    try:
        b = DevServer(APP, tmp_path, env=env).start()
        try:
            group = _group()
            on_a = await StreamSocket.connect(a.ws_url)
            await on_a.join("notes", group)
            assert (await on_a.recv())["event"] == {"type": "sync", "data": []}
            written = await _post(b, f"/notes/{group}/x", {"op": "set", "data": {"text": "over the socket"}})
            assert written["pid"] != (await _post(a, f"/notes/{group}/none", {"op": "get"}))["pid"]
            frame = (await on_a.recv_until(lambda f: f["event"]["type"] == "create"))[-1]
            assert frame["id"] == "x" and frame["event"]["data"]["text"] == "over the socket"
            await on_a.close()
            assert (await _post(a, f"/notes/{group}/x", {"op": "get"}))["item"]["text"] == "over the socket"
        finally:
            b.stop()
    finally:
        a.stop()


async def test_writes_alternating_between_workers_are_all_applied_by_motias_client_rule(
        workers: tuple[DevServer, DevServer]) -> None:
    a, b = workers
    group = _group()
    ws = await StreamSocket.connect(a.ws_url)
    await ws.join("notes", group, "x")
    state = MotiaItemState()
    state.apply(await ws.recv())
    for n in range(20):
        await _post((a, b)[n % 2], f"/notes/{group}/x", {"op": "set", "data": {"n": n}})
    frames = await ws.recv_until(lambda f: f["event"].get("data", {}).get("n") == 19)
    for frame in frames:
        state.apply(frame)
    # Motia's client drops a frame stamped at or below the last one: none may be dropped here.
    assert len(state.applied) == 21 and state.state["n"] == 19
    await ws.close()


async def test_each_event_runs_once_whichever_worker_claims_it(workers: tuple[DevServer, DevServer]) -> None:
    a, b = workers
    group = _group()
    await asyncio.gather(*(_post((a, b)[n % 2], f"/jobs/{group}", {"count": 10}) for n in range(6)))
    deadline = time.monotonic() + 30
    while True:
        items = await _snapshot(b, group)
        if (len(items) == 10 and sum(i["runs"] for i in items) == 60) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    # Six emits of jobs 0..9: every job ran six times in all, never more (no message ran twice).
    assert sorted(i["id"] for i in items) == sorted(f"job-{n}" for n in range(10))
    assert [i["runs"] for i in items] == [6] * 10


async def test_cron_runs_once_per_slot_with_two_workers(workers: tuple[DevServer, DevServer]) -> None:
    a, _ = workers

    async def runs() -> int:
        items = await _snapshot(a, "ticks")
        return items[0]["runs"] if items else 0

    before = await runs()
    await asyncio.sleep(4)
    # Both workers schedule the every-second Tick: 4 slots passed (one more or less at the edges);
    # had both run each slot, the count would have grown by 6 or more.
    assert 3 <= await runs() - before <= 5


# -- motia dev --workers N ----------------------------------------------------------------------
def _motia(*args: str, env: dict[str, str] | None = None, timeout: float = 30,
           root: Path = APP) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k != "MOTIA_REDIS_URL"} | (env or {})
    return subprocess.run([sys.executable, "-m", "motia_runtime", "dev", "--root", str(root), *args],
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def test_more_than_one_worker_without_redis_is_refused(tmp_path: Path) -> None:
    done = _motia("--workers", "2", "--data-dir", str(tmp_path), "--port", str(free_port()))
    assert done.returncode == 2
    assert "--workers 2 needs shared storage: pass --redis-url (or set MOTIA_REDIS_URL)" in done.stderr


def test_an_unreachable_redis_stops_motia_dev_with_its_url(tmp_path: Path) -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    done = _motia("--redis-url", url, "--data-dir", str(tmp_path), "--port", str(free_port()), "--no-reload")
    assert done.returncode == 1
    assert f"motia: cannot reach Redis at {url.replace('s3cret', '***')}" in done.stderr
    assert "s3cret" not in done.stderr
    # The environment variable is the same setting.
    done = _motia("--data-dir", str(tmp_path), "--port", str(free_port()), env={"MOTIA_REDIS_URL": url})
    assert done.returncode == 1 and "cannot reach Redis at" in done.stderr


def test_a_redis_that_refuses_the_login_or_the_scripts_stops_motia_dev_saying_so(
        tmp_path: Path, start_redis: Any) -> None:
    import redis

    server = start_redis(password="s3cret")
    admin = redis.Redis.from_url(server.url)
    admin.execute_command("ACL", "SETUSER", "noscripts", "on", ">n0scr1pts", "~*", "&*", "+@all", "-evalsha")
    admin.close()
    base = server.url.replace(":s3cret@", "")

    def dev(url: str) -> subprocess.CompletedProcess[str]:
        return _motia("--redis-url", url, "--data-dir", str(tmp_path), "--port", str(free_port()), "--no-reload")

    done = dev(base)
    assert done.returncode == 1
    assert f"motia: Redis at {base} refused the login (it asks for a password: put it in the URL" in done.stderr
    # redis-py also takes the password from the query string: masked there too.
    done = dev(f"{base}?password=n0t-1t")
    assert done.returncode == 1
    assert f"motia: Redis at {base}?password=*** refused the login" in done.stderr
    assert "n0t-1t" not in done.stderr
    # An ACL user that may log in but not run the stores' scripts: said at start, not on every write.
    done = dev(base.replace("redis://", "redis://noscripts:n0scr1pts@"))
    assert done.returncode == 1
    assert (f"motia: Redis at {base.replace('redis://', 'redis://noscripts:***@')} refused the stores' scripts: "
            "this user has no permissions to run the 'evalsha' command") in done.stderr
    assert "n0scr1pts" not in done.stderr


def test_workers_that_cannot_start_make_motia_dev_exit_non_zero(tmp_path: Path, start_redis: Any) -> None:
    import redis

    server = start_redis()
    admin = redis.Redis.from_url(server.url)  # an ACL user that may run the scripts but not subscribe
    admin.execute_command("ACL", "SETUSER", "nosub", "on", ">n0sub", "~*", "&*", "+@all", "-subscribe")
    admin.close()
    url = server.url.replace("redis://", "redis://nosub:n0sub@")
    done = _motia("--redis-url", url, "--workers", "2", "--data-dir", str(tmp_path), "--port", str(free_port()))
    # uvicorn stops every worker when one fails to start, but exited 0 with more than one.
    assert done.returncode == 3, done.stderr
    assert ("cannot subscribe to stream changes on Redis at "
            f"{url.replace(':n0sub@', ':***@')}: NOPERM this user has no permissions to run the 'subscribe' command"
            in done.stderr)
    assert "n0sub@" not in done.stderr


def _listening_sockets(port: int) -> int:
    """Listening TCP sockets on ``port`` (/proc/net/tcp and tcp6: state 0A)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


async def test_workers_flag_serves_every_client_every_change(tmp_path: Path, start_redis: Any) -> None:
    redis = start_redis()
    port = free_port()
    server = DevServer(APP, tmp_path, port=port)
    log = open(server.log_path, "ab")  # closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "motia_runtime", "dev", "--root", str(APP), "--port", str(port), "--data-dir",
         str(tmp_path), "--redis-url", redis.url, "--workers", "2"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                # Both workers up: on Linux each listens on its own socket once it serves (the two
                # children alone can be one worker and the resource tracker, and a check made then
                # found one listening socket under load).
                if httpx.get(f"{server.url}/__motia/health", timeout=0.5).status_code == 200 and \
                        len(_children(proc.pid)) >= 2 and (sys.platform != "linux" or _listening_sockets(port) >= 2):
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, server.logs()
            await asyncio.sleep(0.1)
        assert len(_children(proc.pid)) >= 2, server.logs()
        group = _group()
        clients = [await StreamSocket.connect(server.ws_url) for _ in range(6)]
        for ws in clients:
            await ws.join("notes", group)
            assert (await ws.recv())["event"]["type"] == "sync"
        pids = set()
        for n in range(10):
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:  # a new connection each
                pids.add((await http.post(f"/notes/{group}/i{n}", json={"op": "set", "data": {"n": n}})).json()["pid"])
        for ws in clients:
            frames = await ws.recv_until(lambda f: f.get("id") == "i9")
            assert [f["id"] for f in frames] == [f"i{n}" for n in range(10)]
            await ws.close()
        assert pids <= set(_children(proc.pid))
        if sys.platform == "linux":
            # Each worker listens on a socket of its own in the port's SO_REUSEPORT group, which the
            # kernel balances new connections across (hosts/local/workers.py): one per worker, and
            # both take connections.
            assert _listening_sockets(port) == 2
            for n in range(30):
                async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                    pids.add((await http.post(f"/notes/{group}/j{n}", json={"op": "get"})).json()["pid"])
            assert len(pids) == 2  # both workers (the third child is multiprocessing's resource tracker)
        # A second motia dev --workers on the same port (another app here) is refused, as a single
        # worker is: its SO_REUSEPORT sockets used to join this one's group and take half its connections.
        other_app = tmp_path / "other"
        shutil.copytree(APP, other_app, ignore=shutil.ignore_patterns("__pycache__"))
        second = _motia("--redis-url", redis.url.replace("/0", "/1"), "--workers", "2", "--data-dir",
                        str(tmp_path / "other-data"), "--port", str(port), root=other_app)
        assert second.returncode == 1, second.stderr
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in second.stderr
        for n in range(10):
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                pid = (await http.post(f"/notes/{group}/k{n}", json={"op": "get"})).json()["pid"]
            assert pid in _children(proc.pid)
    finally:
        proc.send_signal(2)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path, start_redis: Any) -> None:
    import os
    import signal

    redis = start_redis()
    server = DevServer(APP, tmp_path, env={"MOTIA_REDIS_URL": redis.url}, args=("--workers", "2")).start()
    assert server.proc is not None
    supervisor = server.proc.pid
    deadline = time.monotonic() + 20
    while len(_children(supervisor)) < 3 and time.monotonic() < deadline:  # 2 workers, the resource tracker
        await asyncio.sleep(0.1)
    children = _children(supervisor)
    assert len(children) >= 3, server.logs()
    server.kill()  # SIGKILL: uvicorn's supervisor gets no chance to stop its workers

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # Reaped by init by now, unless it still runs: a zombie counts as gone.
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"

    try:
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        # They used to go on serving the port (and running cron and events) with no supervisor.
        assert not [pid for pid in children if alive(pid)], server.logs()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/__motia/health", timeout=1)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def test_stream_analytics_add_up_every_workers_clients_and_frames(workers: tuple[DevServer, DevServer]) -> None:
    """A client on worker A, writes through worker B: B's analytics answer counts A's client and
    the frames A pushed to it (each worker shares its window through Redis)."""
    a, b = workers
    group = _group()
    ws = await StreamSocket.connect(a.ws_url)
    await ws.join("notes", group)
    await ws.recv()
    for n in range(10):
        await _post(b, f"/notes/{group}/i{n}", {"op": "set", "data": {"n": n}})
    await ws.recv_until(lambda f: f["event"].get("data", {}).get("n") == 9)
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient(base_url=b.url, timeout=10) as client:
        while True:
            body = (await client.get("/__motia/streams/analytics")).json()
            [notes] = [s for s in body["streams"] if s["name"] == "notes"]
            mine = [g for g in notes["groups"] if g["group"] == group]
            if body["workers"] == 2 and mine and mine[0]["framesTotal"] == 10 and mine[0]["clients"] == 1:
                break
            assert time.monotonic() < deadline, body
            await asyncio.sleep(0.3)
    assert mine[0]["subscriptions"] == 1 and mine[0]["lagP50Ms"] is not None
    assert notes["clients"] >= 1 and notes["framesTotal"] >= 10
    await ws.close()

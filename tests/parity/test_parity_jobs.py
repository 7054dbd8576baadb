"""Parity on a small app of its own (tests/parity/app: stream ``jobs`` with auth, an event step
that fails until fixed): a dead-lettered event and its redrive, a reconnect that gets the custom
events it missed, and auth at connect and join, on ``motia dev``, ``CloudSim`` and ``motia cloud``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.parity.frames import canonical, error_frames, normalize
from tests.parity.hosts import CloudHost, DevHost, SimHost, refused_status
from tests.support.cloud_server import CloudServer
from tests.support.dev_server import DevServer

pytestmark = pytest.mark.slow
testing = pytest.importorskip("motia_runtime.testing")
APP = Path(__file__).parent / "app"
STEP = "JobRunner"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parity-jobs") / "app"
    shutil.copytree(APP, root)
    subprocess.run([sys.executable, "-m", "motia_runtime", "generate", "--root", str(root)], check=True,
                   capture_output=True, timeout=120)
    return root


@pytest.fixture(scope="module")
def hosts(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    dev = DevServer(root, tmp_path_factory.mktemp("parity-jobs-dev")).start()
    cloud = CloudServer(root, tmp_path_factory.mktemp("parity-jobs-cloud")).start()
    try:
        with testing.CloudSim(root) as sim:
            yield [DevHost("motia dev", dev.url, dev.ws_url), SimHost(sim),
                   CloudHost("motia cloud", cloud.http_url, cloud.ws_url, cloud.client("sqs"))]
    finally:
        dev.stop()
        cloud.stop()


def same(results: dict[str, Any]) -> None:
    first = json.dumps(results["motia dev"], sort_keys=True, indent=1)
    for name, result in results.items():
        assert json.dumps(result, sort_keys=True, indent=1) == first, f"{name} differs from motia dev:\n" \
            f"{first[:3000]}\n---\n{json.dumps(result, sort_keys=True, indent=1)[:3000]}"


def test_a_dead_lettered_event_and_its_redrive(hosts: list[Any]) -> None:
    results = {}
    for host in hosts:
        conn = host.connect()
        conn.join("jobs", "dlq")
        assert host.http("POST", "/jobs", {"id": "j1", "group": "dlq"})[0] == 202
        # Tried max_retries + 1 = 3 times, then dead-lettered; nothing reached the stream.
        host.settle(lambda host=host: len(host.dead_letters(STEP)) == 1)
        before = canonical(conn.frames, "jobs", "dlq")
        assert host.http("POST", "/jobs/fix")[0] == 200
        assert host.redrive(STEP) == 1
        host.settle(lambda conn=conn: "j1" in canonical(conn.frames, "jobs", "dlq").items)
        conn.close()
        after = canonical(conn.frames, "jobs", "dlq")
        results[host.name] = {"before": before.comparable(), "after": after.comparable(),
                              "deadLetters": len(host.dead_letters(STEP))}
    same(results)
    # The fourth attempt (the redriven one) succeeded: every host tried it three times before.
    assert results["motia dev"]["after"]["items"]["j1"] == [{"id": "j1", "status": "done", "attempts": 4}]
    assert results["motia dev"]["before"]["items"] == {"<none>": ["<none>"]} or \
        results["motia dev"]["before"]["items"] == {}


def frame_log(frames: list[dict[str, Any]]) -> list[Any]:
    """The frames in order, timestamps and ids aside (this scenario has no concurrency)."""
    return [normalize({k: v for k, v in f.items() if k != "timestamp"}, {}) for f in frames]


def test_a_reconnect_gets_the_custom_events_it_missed(hosts: list[Any]) -> None:
    results = {}
    for host in hosts:
        first = host.connect()
        first.join("jobs", "missed")
        host.settle(lambda first=first: bool(first.frames))
        since = first.frames[-1]["timestamp"]
        first.close()
        time.sleep(0.01)
        assert host.http("POST", "/ops", {"ops": [
            {"op": "send", "group": "missed", "type": "note", "data": {"n": 1}},
            {"op": "set", "group": "missed", "id": "a", "data": {"status": "while away"}},
            {"op": "send", "group": "missed", "type": "note", "data": {"n": 2}}]})[0] == 200
        host.settle(lambda: True)  # CloudSim: the stream pumped; live hosts: written
        time.sleep(1.0 if not isinstance(host, SimHost) else 0)  # the fan-out of those writes is over
        again = host.connect()
        again.join("jobs", "missed", since=since)
        host.settle(lambda again=again: len([f for f in again.frames if f["event"]["type"] == "event"]) >= 2
                    and any(f["event"]["type"] == "sync" for f in again.frames))
        time.sleep(0.5 if not isinstance(host, SimHost) else 0)
        again.close()
        results[host.name] = frame_log(again.frames)
    same(results)
    log = results["motia dev"]
    assert [f["event"]["event"]["data"] for f in log if f["event"]["type"] == "event"] == [{"n": 1}, {"n": 2}]


def test_tokens_at_connect_and_refused_joins(hosts: list[Any]) -> None:
    results = {}
    for host in hosts:
        refused = refused_status(host, "stolen")
        allowed = host.connect("good-token")
        allowed.join("jobs", "private-a")
        anonymous = host.connect()
        anonymous.join("jobs", "private-a")
        host.settle(lambda allowed=allowed, anonymous=anonymous: bool(allowed.frames) and bool(anonymous.frames))
        allowed.close()
        anonymous.close()
        results[host.name] = {"refused": refused, "allowed": frame_log(allowed.frames),
                              "anonymous": error_frames(anonymous.frames)}
    same(results)
    assert results["motia dev"]["refused"] == 401
    assert results["motia dev"]["anonymous"][0]["event"]["event"]["data"]["code"] == "STREAM_ACCESS_DENIED"


def test_motia_1_0_list_names_read_a_stream_group_and_a_state_scope(hosts: list[Any]) -> None:
    # Motia 1.0 renamed getGroup: ``ctx.streams.<name>.list(groupId)`` and ``ctx.state.list(scope)``.
    results = {}
    for host in hosts:
        status, body = host.http("POST", "/ops", {"ops": [
            {"op": "set", "group": "listed", "id": "a", "data": {"status": "queued"}},
            {"op": "set", "group": "listed", "id": "b", "data": {"status": "done"}},
            {"op": "state-set", "scope": "listed", "key": "x", "value": {"n": 1}},
            {"op": "state-set", "scope": "listed", "key": "y", "value": {"n": 2}},
            {"op": "list", "group": "listed"}, {"op": "state-list", "scope": "listed"},
            {"op": "list", "group": "nobody"}, {"op": "state-list", "scope": "nobody"}]})
        assert status == 200, body
        results[host.name] = body["results"]
    same(results)
    assert results["motia dev"] == [[["a", "queued"], ["b", "done"]], [1, 2], [], []]


def test_a_repeated_request_header_reaches_the_step_whole(hosts: list[Any]) -> None:
    # API Gateway's payload 2.0 joins a repeated header's values with commas, and the AWS host joins
    # the payload's cookies with "; ": motia dev kept the first value only, so a step read less here
    # than deployed. CloudSim is given headers as a dict, so only the two hosts on real sockets.
    import httpx

    results = {}
    for host in hosts:
        if isinstance(host, SimHost):
            continue
        response = httpx.get(f"{host.http_url}/echo-headers", timeout=30, headers=[
            ("x-tag", "a"), ("x-tag", "b"), ("cookie", "s=1"), ("cookie", "t=2")])
        assert response.status_code == 200, response.text
        results[host.name] = response.json()
    same(results)
    assert results["motia dev"] == {"tag": "a,b", "cookie": "s=1; t=2"}

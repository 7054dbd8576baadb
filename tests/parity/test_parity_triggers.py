"""Parity of stream and state triggers: the same writes on ``motia dev`` and on ``CloudSim``
reach the same trigger steps with the same payloads (kind, item before and after, depth), where
the AWS host builds them from the tables' change records and the local one from the writes.

Keys holding null are the edge: on AWS a write over one is a MODIFY record (``state:updated``)
and its delete a REMOVE (``state:deleted``), so locally they must be the same."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project

pytestmark = pytest.mark.slow
testing = pytest.importorskip("motia_runtime.testing")

FILES = {
    "streams/ptjobs_stream.py": '''
        from pydantic import BaseModel, ConfigDict
        from motia_runtime import StreamConfig

        class Job(BaseModel):
            model_config = ConfigDict(extra="allow")
            n: int = 0

        config = StreamConfig(name="ptjobs", schema=Job, public=True)
    ''',
    "functions/pt_stream_watch_step.py": '''
        config = {"type": "stream", "name": "PtStreamWatch", "streamName": "ptjobs", "flows": ["pt"]}

        async def handler(change, ctx):
            seen = await ctx.state.get("pt-seen", "stream") or []
            await ctx.state.set("pt-seen", "stream", [*seen, change])
    ''',
    "functions/pt_state_watch_step.py": '''
        config = {"type": "state", "name": "PtStateWatch", "group": "pt-watched", "flows": ["pt"]}

        async def handler(change, ctx):
            seen = await ctx.state.get("pt-seen", "state") or []
            await ctx.state.set("pt-seen", "state", [*seen, change])
    ''',
    "functions/pt_write_step.py": '''
        config = {"type": "api", "name": "PtWrite", "path": "/pt/write", "method": "POST", "emits": []}

        async def handler(req, ctx):
            op, args = req["body"]["op"], req["body"].get("args", [])
            target = ctx.state if op.startswith("state.") else ctx.streams.ptjobs
            await getattr(target, op.split(".")[1])(*args)
            return {"status": 200, "body": {}}
    ''',
    "functions/pt_read_step.py": '''
        config = {"type": "api", "name": "PtRead", "path": "/pt/seen", "method": "GET", "emits": []}

        async def handler(req, ctx):
            return {"status": 200, "body": {"stream": await ctx.state.get("pt-seen", "stream") or [],
                                            "state": await ctx.state.get("pt-seen", "state") or []}}
    ''',
}

# One write per request, each left to its triggers before the next (the AWS host reads the
# changes from the tables' streams: a batch of them may run in another order than one by one).
WRITES: list[dict[str, Any]] = [
    {"op": "stream.set", "args": ["g", "a", {"n": 1, "tag": "x"}]},
    {"op": "stream.update", "args": ["g", "a", [{"type": "increment", "path": "n", "by": 2}]]},
    {"op": "stream.send", "args": [{"groupId": "g", "id": "a"}, {"type": "ping", "data": {"x": 1}}]},
    {"op": "stream.delete", "args": ["g", "a"]},
    {"op": "stream.delete", "args": ["g", "never"]},
    {"op": "state.set", "args": ["pt-watched", "k", {"v": 1}]},
    {"op": "state.update", "args": ["pt-watched", "k", [{"type": "increment", "path": "v"}]]},
    {"op": "state.delete", "args": ["pt-watched", "k"]},
    {"op": "state.delete", "args": ["pt-watched", "never"]},
    {"op": "state.set", "args": ["pt-watched", "null", None]},
    {"op": "state.set", "args": ["pt-watched", "null", None]},
    {"op": "state.update", "args": ["pt-watched", "null", [{"type": "set", "path": "a", "value": 1}]]},
    {"op": "state.set", "args": ["pt-watched", "null2", None]},
    {"op": "state.delete", "args": ["pt-watched", "null2"]},
]


def comparable(seen: dict[str, Any]) -> str:
    def strip(value: Any) -> Any:  # stamps differ between runs
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("timestamp", "_createdAt")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(seen), sort_keys=True, indent=1)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("parity-triggers") / "app", FILES)
    subprocess.run([sys.executable, "-m", "motia_runtime", "generate", "--root", str(root)], check=True,
                   capture_output=True, timeout=120)
    return root


def on_motia_dev(root: Path, data: Path) -> dict[str, Any]:
    dev = InProcessServer(root, data).start()
    try:
        for write in WRITES:
            assert httpx.post(f"{dev.url}/pt/write", json=write, timeout=10).status_code == 200
            deadline = time.time() + 10
            while httpx.get(f"{dev.url}/__motia/queues/messages", timeout=10).json()["messages"]:
                assert time.time() < deadline, "the triggers did not run"
                time.sleep(0.02)  # its triggers (queued before the answer) have run
        seen: dict[str, Any] = httpx.get(f"{dev.url}/pt/seen", timeout=10).json()
        return seen
    finally:
        dev.stop()


def on_cloudsim(root: Path) -> dict[str, Any]:
    with testing.CloudSim(root) as sim:
        for write in WRITES:
            assert sim.http("POST", "/pt/write", json=write).status == 200
            sim.run_until_idle()
        seen: dict[str, Any] = sim.http("GET", "/pt/seen").json()
        return seen


def test_triggers_get_the_same_changes_on_both_hosts(root: Path, tmp_path: Path) -> None:
    local, aws = on_motia_dev(root, tmp_path / "data"), on_cloudsim(root)
    assert comparable(local) == comparable(aws)
    kinds = [(c["event_type"], c["key"]) for c in local["state"]]
    assert kinds == [("state:created", "k"), ("state:updated", "k"), ("state:deleted", "k"),
                     ("state:created", "null"), ("state:updated", "null"), ("state:updated", "null"),
                     ("state:created", "null2"), ("state:deleted", "null2")]
    assert [c["event"]["type"] for c in local["stream"]] == ["create", "update", "event", "delete"]

"""An item's TTL expiry on the local host, over real sockets and HTTP: the subscribed client gets
one ``delete``, and the stream triggers watching the item run once with that ``delete`` (the item
as ``old_value``, a chain of its own: depth 1, a trace id of its own), as the AWS triggers
function routes DynamoDB's TTL REMOVE record (tests/aws/test_cloud_triggers.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project
from tests.support.ws import StreamSocket

FILES = {
    "streams/leases_ttl_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Lease(BaseModel):
            holder: str

        config = StreamConfig(name="leasesTtl", schema=Lease, public=True)
    ''',
    "functions/ttl_trig/lease_api_step.py": '''
        config = {"type": "api", "name": "TakeLease", "path": "/leases/:group/:id", "method": "POST"}

        async def handler(req, ctx):
            p = req["pathParams"]
            await ctx.streams.leasesTtl.set(p["group"], p["id"], {"holder": req["body"]["holder"]},
                                            ttl=req["body"]["ttl"])
            return {"status": 200, "body": {"traceId": ctx.trace_id}}
    ''',
    "functions/ttl_trig/lease_gone_step.py": '''
        config = {"type": "stream", "name": "LeaseGone", "streamName": "leasesTtl", "events": ["delete"]}

        async def handler(change, ctx):
            seen = await ctx.state.get("leaseGone", change["groupId"]) or []
            await ctx.state.set("leaseGone", change["groupId"], [*seen, {
                "id": change["id"], "kind": change["event"]["type"], "old": change["old_value"],
                "new": change["new_value"], "depth": change["depth"], "trace": ctx.trace_id}])
    ''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_project(tmp_path_factory.mktemp("ttl_trig_app"), FILES)
    dev = InProcessServer(Path(root), tmp_path_factory.mktemp("ttl-trig-data")).start()
    yield dev
    dev.stop()


def _gone(server: InProcessServer, group: str) -> list[dict[str, Any]]:
    items = httpx.get(f"{server.url}/__motia/state?group=leaseGone", timeout=5).json()["items"]
    return next((i["value"] for i in items if i["key"] == group), [])


async def test_an_expired_item_runs_its_delete_triggers_once(server: InProcessServer) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    ws = await StreamSocket.connect(server.ws_url)
    try:
        await ws.join("leasesTtl", group)
        await ws.recv_until(lambda f: f["event"]["type"] == "sync")
        taken = httpx.post(f"{server.url}/leases/{group}/l1", json={"holder": "ann", "ttl": 0.5}, timeout=10)
        assert taken.status_code == 200, taken.text
        frames = await ws.recv_until(lambda f: f["event"]["type"] == "delete", timeout=10)
        assert [f["event"]["type"] for f in frames] == ["create", "delete"]
        deadline = asyncio.get_running_loop().time() + 10
        while not (seen := _gone(server, group)):
            assert asyncio.get_running_loop().time() < deadline, "the delete trigger of the expiry did not run"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.2)  # two more sweeps: the expiry is not routed again
        assert (await ws.drain(0.2)) == []
    finally:
        await ws.close()
    seen = _gone(server, group)
    assert len(seen) == 1, seen
    assert seen[0]["id"] == "l1" and seen[0]["kind"] == "delete" and seen[0]["new"] is None
    assert seen[0]["old"]["holder"] == "ann"
    assert seen[0]["depth"] == 1  # a chain of its own: the expiry is no step's write
    assert seen[0]["trace"] != taken.json()["traceId"]

"""Killing the server loses nothing that was accepted: state, stream items, queued events."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.local.conftest import APP
from tests.local.test_events import state, wait_for
from tests.support.dev_server import DevServer


def test_a_killed_server_comes_back_with_state_items_and_undelivered_events(tmp_path: Path) -> None:
    server = DevServer(APP, tmp_path / "data").start()
    key, group = uuid.uuid4().hex, f"g-{uuid.uuid4().hex[:6]}"
    try:
        with httpx.Client(base_url=server.url) as http:
            http.post(f"/items/{group}/kept", json={"op": "set", "data": {"label": "survives", "n": 7}})
            http.post("/emit/flaky", json={"data": {"key": key, "succeedOn": 1}})  # handled before the kill
            wait_for(lambda: state(http, "flaky-done").get(key))
            assert http.post("/emit/delayed", json={"data": {"key": key}}).status_code == 200
        server.kill()  # SIGKILL within the 2 s delay: the event is accepted but not yet handled
    finally:
        server.stop()

    restarted = DevServer(APP, tmp_path / "data", port=server.port).start()
    try:
        with httpx.Client(base_url=restarted.url) as http:
            items = http.get(f"/__motia/streams/items/groups/{group}").json()["items"]
            assert [(i["id"], i["label"], i["n"]) for i in items] == [("kept", "survives", 7)]
            assert state(http, "flaky-done")[key] == 1
            handled = wait_for(lambda: state(http, "delayed").get(key), timeout=15)
            assert handled["handled"] is True
            # Later writes are stamped above everything written before the restart.
            before = items[0]["_createdAt"]
            after = http.post(f"/items/{group}/new", json={"op": "set", "data": {"label": "later"}}).json()
            assert after["_createdAt"] > before
    finally:
        restarted.stop()

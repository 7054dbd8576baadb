"""The Workbench over plain HTTP and WebSocket (no browser): where the page is served, that every
asset it loads is there, the traces and logs API, and the live feed at ``/__motia/ws``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.browser.lab_project import write_lab
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = InProcessServer(write_lab(tmp_path_factory.mktemp("lab-api")),
                             tmp_path_factory.mktemp("lab-api-data")).start()
    yield server
    server.stop()


def wait_for_trace(server: InProcessServer, trace_id: str, status: str = "ok", timeout_s: float = 10) -> dict[str, Any]:
    deadline = time.time() + timeout_s
    while True:
        response = httpx.get(f"{server.url}/__motia/traces/{trace_id}")
        if response.status_code == 200 and response.json()["status"] == status:
            return response.json()  # type: ignore[no-any-return]
        if time.time() > deadline:
            raise AssertionError(f"trace {trace_id} is not {status}: {response.text}")
        time.sleep(0.05)


def test_the_page_is_served_at_root_and_under_motia_with_all_its_assets(lab: InProcessServer) -> None:
    root = httpx.get(f"{lab.url}/")
    assert root.status_code == 200 and "<title>Motia Workbench</title>" in root.text
    assert httpx.get(f"{lab.url}/__motia/").text == root.text
    assert httpx.get(f"{lab.url}/__motia", follow_redirects=False).headers["location"] == "/__motia/"
    # Follow every asset the page loads: the stylesheet, the icon, and each ES module it imports.
    pending = re.findall(r'(?:href|src)="(/__motia/static/[^"]+)"', root.text)
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        asset = httpx.get(f"{lab.url}{path}")
        assert asset.status_code == 200, path
        assert asset.headers["cache-control"] == "no-cache"
        if path.endswith(".js"):
            assert "javascript" in asset.headers["content-type"]
            base = path.rsplit("/", 1)[0]
            for spec in re.findall(r"^import .* from '(\.[^']+)';$", asset.text, re.M):
                pending.append(str(Path(base, spec).resolve()) if spec.startswith(".") else spec)
    assert {"/__motia/static/workbench.css", "/__motia/static/js/main.js", "/__motia/static/js/layout.js",
            "/__motia/static/js/views/traces.js"} <= seen
    assert len([p for p in seen if p.endswith(".js")]) >= 15


def test_a_step_that_owns_get_root_keeps_it(tmp_path: Path) -> None:
    step = tmp_path / "functions" / "home_step.py"
    step.parent.mkdir()
    step.write_text(dedent('''
        from motia_runtime import ApiRouteConfig

        config = ApiRouteConfig(name="Home", path="/", method="GET")


        async def handler(req, ctx):
            return {"status": 200, "body": {"home": True}}
    '''))
    server = InProcessServer(tmp_path, tmp_path / ".motia").start()
    try:
        assert httpx.get(f"{server.url}/").json() == {"home": True}
        assert "<title>Motia Workbench</title>" in httpx.get(f"{server.url}/__motia/").text
    finally:
        server.stop()


def test_a_trace_holds_its_runs_and_what_they_did(lab: InProcessServer) -> None:
    response = httpx.post(f"{lab.url}/jobs", json={"mode": "ok"})
    assert response.status_code == 202
    trace_id = response.headers["x-trace-id"]
    trace = wait_for_trace(lab, trace_id)
    assert [(s["step"], s["trigger"]["type"], s["status"]) for s in trace["spanList"]] == [
        ("StartJob", "api", "ok"), ("RunJob", "event", "ok")]
    assert trace["entry"] == "StartJob" and trace["steps"] == ["RunJob", "StartJob"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in trace["events"]:
        by_kind.setdefault(event["kind"], []).append(event)
    assert [e["topic"] for e in by_kind["emit"]] == ["job.requested", "job.done"]
    assert [(e["step"], e["op"], e["id"], e["data"]) for e in by_kind["stream"]] == [
        ("StartJob", "set", "job", {"status": "queued", "progress": 0}),
        ("RunJob", "set", "job", {"status": "done", "progress": 100})]
    assert [(e["step"], e["op"], e["group"], e["key"], e["value"]) for e in by_kind["state"]] == [
        ("RunJob", "set", "jobs", trace_id, {"mode": "ok", "done": True})]
    assert [(e["step"], e["msg"], e["meta"]) for e in by_kind["log"]] == [
        ("StartJob", "job queued", {"mode": "ok"}), ("RunJob", "job done", {})]
    spans = {s["step"]: s["id"] for s in trace["spanList"]}
    assert all(e["span"] == spans[e["step"]] for e in trace["events"])

    listed = httpx.get(f"{lab.url}/__motia/traces").json()["traces"]
    assert trace_id in [t["id"] for t in listed]
    assert trace_id in [t["id"] for t in httpx.get(f"{lab.url}/__motia/traces?step=RunJob").json()["traces"]]
    assert trace_id not in [t["id"] for t in httpx.get(f"{lab.url}/__motia/traces?step=Allow").json()["traces"]]
    assert httpx.get(f"{lab.url}/__motia/traces/NOPE-1").status_code == 404


def test_logs_are_filtered_by_trace_step_and_level(lab: InProcessServer) -> None:
    good = httpx.post(f"{lab.url}/jobs", json={"mode": "ok"}).headers["x-trace-id"]
    bad = httpx.post(f"{lab.url}/jobs", json={"mode": "fail"}).headers["x-trace-id"]
    wait_for_trace(lab, good)
    wait_for_trace(lab, bad, status="error")

    def logs(**params: str) -> list[dict[str, Any]]:
        return httpx.get(f"{lab.url}/__motia/logs", params=params).json()["logs"]  # type: ignore[no-any-return]

    assert [(e["step"], e["msg"]) for e in logs(traceId=good)] == [("StartJob", "job queued"), ("RunJob", "job done")]
    assert [e["msg"] for e in logs(traceId=good, step="RunJob")] == ["job done"]
    errors = logs(traceId=bad, level="error")
    assert len(errors) == 1 and "dead-lettered" in errors[0]["msg"] and errors[0]["step"] == "RunJob"
    assert all(e["level"] == "error" for e in logs(level="error"))
    assert len(logs(limit="1")) == 1


def test_the_live_feed_pushes_logs_traces_state_and_stream_changes(lab: InProcessServer) -> None:
    with connect(f"{lab.ws_url}/__motia/ws") as ws:
        trace_id = httpx.post(f"{lab.url}/jobs", json={"mode": "ok"}).headers["x-trace-id"]
        frames: list[dict[str, Any]] = []
        while not any(f["type"] == "trace" and f["data"]["id"] == trace_id and f["data"]["status"] == "ok"
                      for f in frames):
            frames.append(json.loads(ws.recv(timeout=10)))
    kinds = {f["type"] for f in frames}
    assert kinds == {"log", "trace", "state", "stream"}
    assert {"op": "set", "group": "jobs", "key": trace_id} in [f["data"] for f in frames if f["type"] == "state"]
    streamed = [f["data"] for f in frames if f["type"] == "stream"]
    assert [(s["streamName"], s["groupId"], s["id"], s["change"], s["item"]["status"]) for s in streamed] == [
        ("jobs", trace_id, "job", "create", "queued"), ("jobs", trace_id, "job", "update", "done")]
    # The Workbench's socket is not a client of the app's streams.
    assert all(s["clients"] == 0 for s in httpx.get(f"{lab.url}/__motia/streams").json()["streams"])


def test_run_now_starts_a_cron_step_as_its_own_trace(lab: InProcessServer) -> None:
    response = httpx.post(f"{lab.url}/__motia/cron/Nightly/run")
    assert response.status_code == 202
    trace = wait_for_trace(lab, response.json()["traceId"])
    assert [(s["step"], s["trigger"]["type"]) for s in trace["spanList"]] == [("Nightly", "cron"), ("RunJob", "event")]
    assert httpx.post(f"{lab.url}/__motia/cron/StartJob/run").status_code == 404
    assert httpx.post(f"{lab.url}/__motia/cron/Nope/run").status_code == 404


# -- The Workbench's tools: stream tokens for private streams, state editing ------------------------
def join(ws: Any, stream: str, group: str, id: str | None = None) -> str:
    """Join and return how the server answered that join: "sync" or the error code (live change
    frames of earlier joins, which may come in between, are skipped)."""
    data = {"streamName": stream, "groupId": group, "subscriptionId": f"{stream}-{group}-{id}"}
    if id is not None:
        data["id"] = id
    ws.send(json.dumps({"type": "join", "data": data}))
    while True:
        frame = json.loads(ws.recv(timeout=5))
        if (frame["streamName"], frame["groupId"], frame.get("id")) != (stream, group, id):
            continue
        event = frame["event"]
        if event["type"] == "sync":
            return "sync"
        if event["type"] == "event" and event["event"]["type"] == "error":
            return event["event"]["data"]["code"]  # type: ignore[no-any-return]


def test_the_stream_token_endpoint_lets_the_workbench_join_one_group_of_a_private_stream(lab: InProcessServer) -> None:
    streams = {s["name"]: s for s in httpx.get(f"{lab.url}/__motia/streams").json()["streams"]}
    assert streams["vault"]["public"] is False and streams["jobs"]["public"] is True
    group = httpx.post(f"{lab.url}/secret-jobs").headers["x-trace-id"]
    other = httpx.post(f"{lab.url}/secret-jobs").headers["x-trace-id"]
    with connect(lab.ws_url) as ws:  # anonymous: the private stream is refused
        assert join(ws, "vault", group) == "STREAM_ACCESS_DENIED"

    url = f"{lab.url}/__motia/stream-token"
    missing = httpx.post(url, json={"streamName": "nope", "groupId": group})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    assert httpx.post(url, json={"streamName": "vault"}).json()["error"] == "groupId must be a non-empty string"
    bad = httpx.post(url, content=b"{nope", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("Invalid JSON")
    # Another site's page cannot have a token minted (motia dev allows any origin for the app's API).
    assert httpx.post(url, json={"streamName": "vault", "groupId": group},
                      headers={"origin": "https://evil.example"}).status_code == 403
    same_origin = httpx.post(url, json={"streamName": "vault", "groupId": group}, headers={"origin": lab.url})
    assert same_origin.status_code == 200
    # The same rule guards every Workbench tool that changes something.
    for method, path in (("POST", "/__motia/queues/dead-letters/1/retry"), ("DELETE", "/__motia/queues/dead-letters/1"),
                         ("POST", "/__motia/cron/Nope/run"), ("DELETE", "/__motia/state/g/k")):
        assert httpx.request(method, f"{lab.url}{path}", headers={"origin": "https://evil.example"}).status_code == 403

    before = time.time()
    minted = httpx.post(url, json={"streamName": "vault", "groupId": group}).json()
    assert minted["streamName"] == "vault" and minted["groupId"] == group
    assert before + 590 <= minted["expiresAt"] <= time.time() + 601  # short-lived: 10 minutes
    # Motia's way (the subprotocol) and ?authToken= both work; the token covers that group and its
    # items, nothing else.
    for kwargs, address in (({"subprotocols": ["Authorization", minted["token"]]}, lab.ws_url),
                            ({}, f"{lab.ws_url}/?authToken={minted['token']}")):
        with connect(address, **kwargs) as ws:  # type: ignore[arg-type]
            assert join(ws, "vault", group) == "sync"
            assert join(ws, "vault", group, "job") == "sync"
            assert join(ws, "vault", other) == "STREAM_ACCESS_DENIED"
            assert join(ws, "jobs", group) == "STREAM_ACCESS_DENIED"
    # An item token covers that item only.
    item = httpx.post(url, json={"streamName": "vault", "groupId": group, "id": "job"}).json()
    assert item["id"] == "job"
    with connect(lab.ws_url, subprotocols=["Authorization", item["token"]]) as ws:  # type: ignore[list-item]
        assert join(ws, "vault", group, "job") == "sync"
        assert join(ws, "vault", group) == "STREAM_ACCESS_DENIED"
    # The token never reaches the server's log.
    assert minted["token"] not in lab.logs()


def next_state_frame(feed: Any) -> dict[str, Any]:
    while True:  # the feed also carries the logs, traces and stream changes of running steps
        frame = json.loads(feed.recv(timeout=5))
        if frame["type"] == "state":
            return frame["data"]  # type: ignore[no-any-return]


def test_state_can_be_edited_and_deleted_through_the_api(lab: InProcessServer) -> None:
    url = f"{lab.url}/__motia/state/settings/limits"
    with connect(f"{lab.ws_url}/__motia/ws") as feed:
        saved = httpx.put(url, content=b'{"max": 3, "names": ["a"]}', headers={"content-type": "application/json"})
        assert saved.status_code == 200 and saved.json() == {"group": "settings", "key": "limits",
                                                             "value": {"max": 3, "names": ["a"]}}
        # Open pages are told, as for a step's write.
        assert next_state_frame(feed) == {"op": "set", "group": "settings", "key": "limits"}
        assert httpx.get(f"{lab.url}/__motia/state", params={"group": "settings"}).json()["items"] == [
            {"key": "limits", "value": {"max": 3, "names": ["a"]}}]

        # Invalid JSON: 400 naming the problem, and nothing is saved.
        bad = httpx.put(url, content=b'{"max": 4,}', headers={"content-type": "application/json"})
        assert bad.status_code == 400
        assert bad.json()["error"] == ("Invalid JSON: Expecting property name enclosed in double quotes "
                                       "(line 1, column 11)")
        empty_body = httpx.put(url, content=b"")
        assert empty_body.status_code == 400 and "empty" in empty_body.json()["error"]
        kept = httpx.get(f"{lab.url}/__motia/state", params={"group": "settings"}).json()["items"]
        assert kept == [{"key": "limits", "value": {"max": 3, "names": ["a"]}}]
        assert httpx.put(url, json=5, headers={"origin": "http://evil.example"}).status_code == 403

        # Any JSON value may be stored, null included; a key holding null still exists.
        assert httpx.put(f"{lab.url}/__motia/state/settings/nothing", content=b"null").status_code == 200
        assert httpx.delete(f"{lab.url}/__motia/state/settings/nothing").status_code == 200

        deleted = httpx.delete(url)
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        # Refused writes told no one.
        assert [next_state_frame(feed) for _ in range(3)] == [
            {"op": "set", "group": "settings", "key": "nothing"},
            {"op": "delete", "group": "settings", "key": "nothing"},
            {"op": "delete", "group": "settings", "key": "limits"}]
    missing = httpx.delete(url)
    assert missing.status_code == 404 and missing.json()["error"] == "No key 'limits' in state group 'settings'"
    assert httpx.delete(f"{lab.url}/__motia/state/no-such-group/k").status_code == 404
    assert "settings" not in httpx.get(f"{lab.url}/__motia/state").json()["groups"]

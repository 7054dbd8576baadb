"""The Workbench in headless Chromium, against the real ``motia dev`` server.

Most tests use the repo's own app (the OpenAI example, and the pet shelter when ``functions/pets``
is there); the lab project (``lab_project.py``) covers what that app cannot do on demand: dead
letters, a cron step, a noop step with virtual edges. Every view is saved as a screenshot under
``tests/artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.lab_project import write_lab
from tests.support.dev_server import REPO, DevServer
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow

# Short pauses between the pet shelter's stages (the tutorial's 1 s and 300 ms), long enough that
# a trace is seen running.
PET_ENV = {"PET_STAGE_DELAY_MS": "300", "PET_FIELD_DELAY_MS": "80"}
LIVE_TIMEOUT_MS = 20_000

BOXES_JS = """() => [...document.querySelectorAll('#flow-canvas .flow-node')].map((g) => {
  const r = g.querySelector('.node-box').getBoundingClientRect();
  return {id: g.dataset.nodeId, kind: g.dataset.kind, step: g.dataset.step || null,
          x: r.x, y: r.y, w: r.width, h: r.height};
})"""


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = InProcessServer(REPO, tmp_path_factory.mktemp("workbench-app"), env=PET_ENV).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_lab(tmp_path_factory.mktemp("lab-project"))
    server = InProcessServer(root, tmp_path_factory.mktemp("lab-data")).start()
    yield server
    server.stop()


def steps_of(server: DevServer | InProcessServer) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in httpx.get(f"{server.url}/__motia/steps").json()["steps"]}


def has_pets(server: DevServer | InProcessServer) -> bool:
    return "CreatePet" in steps_of(server)


def overlapping(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            dx = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            dy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            if dx > 0.5 and dy > 0.5:
                found.append((a["id"], b["id"]))
    return found


def create_through_endpoints(page: Any, server: DevServer | InProcessServer) -> tuple[str, dict[str, Any]]:
    """Open the create endpoint (pets, else the OpenAI example), send it, return (step, body)."""
    if has_pets(server):
        step, body = "CreatePet", {"name": "Biscuit", "species": "dog", "ageMonths": 14}
    else:
        step, body = "OpenAiApi", {"message": "hello from the workbench"}
    page.goto(f"{server.url}/#/endpoints/{step}")
    editor = page.locator("#body-editor")
    # Prefilled from the body schema.
    expect(editor).to_have_value(re.compile(r'"(name|message)"'))
    json.loads(editor.input_value())
    editor.fill(json.dumps(body))
    page.click("#send")
    return step, body


# -- Flows -------------------------------------------------------------------------------------------
def test_flow_diagrams_show_every_step_and_topic_without_overlaps(app_server: InProcessServer, page: Any,
                                                                  screenshot: Any) -> None:
    steps = steps_of(app_server)
    page.goto(f"{app_server.url}/")
    expect(page.locator("#flow-canvas .flow-node").first).to_be_visible()
    flows = page.locator("#flow-tabs .tab").evaluate_all("tabs => tabs.map((t) => t.dataset.flow)")
    assert "open-ai" in flows
    seen: set[str] = set()
    for flow in flows:
        page.click(f'#flow-tabs .tab[data-flow="{flow}"]')
        expect(page.locator(f'#flow-tabs .tab[data-flow="{flow}"]')).to_have_attribute("aria-selected", "true")
        boxes = page.evaluate(BOXES_JS)
        drawn = {b["step"] for b in boxes if b["kind"] == "step"}
        members = {name for name, s in steps.items() if flow in (s["flows"] or ["default"])}
        assert drawn == members, flow
        assert all(b["w"] > 40 and b["h"] > 15 for b in boxes)
        assert overlapping(boxes) == [], f"overlapping nodes in flow {flow}"
        # Every declared emit and subscribe is an edge through its topic; virtual ones are dotted.
        for name in members:
            s, step = steps[name], f"step:{name}"
            for edges, kind in ((s["emits"], ":not(.virtual)"), (s["virtualEmits"], ".virtual")):
                for topic in edges:
                    assert page.locator(f'.edge{kind}[data-from="{step}"][data-to="topic:{topic}"]').count() == 1
            for edges, kind in ((s.get("subscribes") or [], ":not(.virtual)"), (s["virtualSubscribes"], ".virtual")):
                for topic in edges:
                    assert page.locator(f'.edge{kind}[data-from="topic:{topic}"][data-to="{step}"]').count() == 1
            # A stream or state trigger is drawn from its source (the stream, the state group).
            if s.get("source"):
                edge = page.locator(f'.edge[data-to="{step}"][data-from^="source:{s["source"]["kind"]} '
                                    f'{s["source"]["name"]}"]')
                assert edge.count() == 1, name
                assert not any(t.startswith("motia.trigger.") for t in s.get("subscribes") or [])
        seen |= drawn
        screenshot(page, f"flows-{flow}")
    assert seen == set(steps)
    assert {"OpenAiApi", "CallOpenAi"} <= seen
    if has_pets(app_server):
        pet_flow = steps["CreatePet"]["flows"][0]
        assert len([s for s in steps.values() if pet_flow in s["flows"]]) >= 14
        assert {"CreatePet", "SetNextFeedingReminder", "AiProfileEnrichment", "PetLifecycleOrchestrator",
                "DeletionReaper", "ShelterStats", "StaffAlertOnIllness"} <= seen
        assert steps["ShelterStats"]["source"] == {"kind": "state", "name": "pets", "key": None,
                                                   "events": ["create", "update", "delete"]}
        # The diagram reads top-down: the create endpoint is above the steps it feeds.
        page.click(f'#flow-tabs .tab[data-flow="{pet_flow}"]')
        y = {b["step"]: b["y"] for b in page.evaluate(BOXES_JS) if b["step"]}
        assert y["CreatePet"] < y["SetNextFeedingReminder"] < y["PetLifecycleOrchestrator"]
        assert y["CreatePet"] < y["AiProfileEnrichment"]

    # A step's details: its wiring and a link to call it.
    page.click('.flow-node[data-step="CreatePet"]' if has_pets(app_server) else '.flow-node[data-step="OpenAiApi"]')
    details = page.locator("#flow-details")
    expect(details).to_be_visible()
    expect(details.locator("a", has_text="Open in Endpoints")).to_be_visible()
    screenshot(page, "flows-details", full_page=False)
    assert page.problems == []


def test_virtual_edges_are_dotted_and_noop_steps_drawn(lab_server: InProcessServer, page: Any, screenshot: Any) -> None:
    page.goto(f"{lab_server.url}/#/flows/lab")
    expect(page.locator('.flow-node[data-step="Review"]')).to_have_class(re.compile(r"\bnode-noop\b"))
    expect(page.locator('.flow-node[data-step="Nightly"]')).to_have_class(re.compile(r"\bnode-cron\b"))
    virtual = page.locator(".edge.virtual")
    expect(virtual).to_have_count(2)
    assert virtual.first.evaluate("e => getComputedStyle(e).strokeDasharray") not in ("none", "")
    assert page.locator(".edge:not(.virtual)").first.evaluate("e => getComputedStyle(e).strokeDasharray") == "none"
    assert overlapping(page.evaluate(BOXES_JS)) == []
    screenshot(page, "flows-lab")
    assert page.problems == []


# -- Endpoints → live item → trace → logs ------------------------------------------------------------
def test_call_an_endpoint_watch_the_item_live_then_open_its_trace_and_logs(app_server: InProcessServer, page: Any,
                                                                            screenshot: Any) -> None:
    pets = has_pets(app_server)
    step, body = create_through_endpoints(page, app_server)
    expect(page.locator("#response-status")).to_have_text("201" if pets else "200")
    expect(page.locator("#response-time")).to_contain_text("ms")
    trace_id = page.locator("#open-trace code").inner_text()
    response = json.loads(page.locator("#response-body").inner_text())
    assert response["__motia"]["groupId"] == trace_id

    live = page.locator("#live-item")
    message = page.locator("#live-message")
    if pets:
        # The journey item goes through its stages: created, quarantine, health check, result.
        expect(message).to_contain_text("ready for adoption", timeout=LIVE_TIMEOUT_MS)
        stages = page.locator("#stage-list li").all_inner_texts()
        assert any("quarantine" in s for s in stages), stages
        assert any("created successfully" in s for s in stages), stages
        expect(live.locator(".progress")).to_have_attribute("aria-valuenow", "100")
        # The whole group, live: the AI enrichment's items arrive beside the journey message.
        group = page.locator("#live-group")
        expect(group.locator('.group-item[data-id="completed"]')).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        for item in ("message", "enrichment_started", "progress_bio", "progress_adopterHints"):
            expect(group.locator(f'.group-item[data-id="{item}"]')).to_be_visible()
        expect(group.locator('.group-item[data-id="completed"] .progress')).to_have_attribute("aria-valuenow", "100")
    else:
        expect(message).to_contain_text(f"fallback reply to: {body['message']}", timeout=LIVE_TIMEOUT_MS)
        expect(page.locator("#live-group .group-item")).to_have_count(1)
    assert int(live.get_attribute("data-updates") or 0) >= 3
    assert int(live.get_attribute("data-stages") or 0) >= 3
    screenshot(page, "endpoints")

    # The trace: the API step and the steps downstream of it, with what they did.
    page.click("#open-trace")
    expect(page.locator("#trace-id")).to_have_text(trace_id)
    downstream = ["SetNextFeedingReminder", "AiProfileEnrichment"] if pets else ["CallOpenAi"]
    for name in [step, *downstream]:
        expect(page.locator(f'.span-row[data-step="{name}"]').first).to_be_visible()
    expect(page.locator("#trace-status")).to_have_text("ok", timeout=LIVE_TIMEOUT_MS)
    assert set(page.locator(".span-row").evaluate_all("rows => rows.map((r) => r.dataset.status)")) == {"ok"}
    events = page.locator("#trace-events")
    expect(events.locator('.ev-row[data-kind="emit"]').first).to_be_visible()
    expect(events.locator('.ev-row[data-kind="stream"]').first).to_be_visible()
    expect(events.locator('.ev-row[data-kind="log"]').first).to_be_visible()
    if pets:
        expect(events.locator('.ev-row[data-kind="state"]').first).to_be_visible()
        expect(events.locator('.ev-row[data-kind="emit"]', has_text="pet.created")).to_be_visible()
    else:
        expect(events.locator('.ev-row[data-kind="emit"]', has_text="openai-prompt")).to_be_visible()
    screenshot(page, "traces")

    # Its logs, filtered by the trace id.
    page.click("#trace-logs")
    expect(page.locator("#log-trace")).to_have_value(trace_id)
    server_logs = httpx.get(f"{app_server.url}/__motia/logs", params={"traceId": trace_id}).json()["logs"]
    rows = page.locator("#log-list .log-row")
    expect(rows).to_have_count(len(server_logs))
    assert set(rows.evaluate_all("rows => rows.map((r) => r.dataset.trace)")) == {trace_id}
    logged_steps = set(rows.evaluate_all("rows => rows.map((r) => r.dataset.step)"))
    assert {step, *downstream} <= logged_steps
    screenshot(page, "logs", full_page=False)
    # ... and further by step and level.
    page.select_option("#log-step", downstream[0])
    expect(rows.first).to_be_visible()
    assert set(rows.evaluate_all("rows => rows.map((r) => r.dataset.step)")) == {downstream[0]}
    assert "step=" in page.url
    page.select_option("#log-level", "error")
    expect(rows).to_have_count(0)
    expect(page.locator("#log-list")).to_contain_text("No entry matches")
    assert page.problems == []


def test_traces_and_logs_update_while_the_trace_runs(app_server: InProcessServer, page: Any) -> None:
    page.goto(f"{app_server.url}/#/traces")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bup\b"))
    if has_pets(app_server):
        response = httpx.post(f"{app_server.url}/pets", json={"name": "Pepper", "species": "cat", "ageMonths": 3})
    else:
        response = httpx.post(f"{app_server.url}/open-ai", json={"message": "a long enough prompt " * 4})
    trace_id = response.headers["x-trace-id"]
    # Pushed into the list without a reload, then followed while it runs.
    expect(page.locator(f'.trace-item[data-trace-id="{trace_id}"]')).to_be_visible()
    page.evaluate(f"location.hash = '#/traces/{trace_id}'")
    expect(page.locator("#trace-status")).to_have_text("running")
    expect(page.locator('.span-row[data-status="running"]').first).to_be_visible()
    expect(page.locator("#trace-status")).to_have_text("ok", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator('.span-row[data-status="running"]')).to_have_count(0)
    expect(page.locator(f'.trace-item[data-trace-id="{trace_id}"]')).to_have_attribute("data-status", "ok")

    # The logs view takes new entries live too.
    page.evaluate("location.hash = '#/logs'")
    expect(page.locator("#log-list .log-row").first).to_be_visible()
    before = page.locator("#log-list .log-row").count()
    second = httpx.post(f"{app_server.url}/open-ai", json={"message": "live logs"}).headers["x-trace-id"]
    expect(page.locator(f'#log-list .log-row[data-trace="{second}"]').first).to_be_visible()
    assert page.locator("#log-list .log-row").count() > before
    assert page.problems == []


# -- Streams and state ------------------------------------------------------------------------------
def test_streams_view_shows_groups_items_and_clients_live(app_server: InProcessServer, page: Any,
                                                         screenshot: Any) -> None:
    from websockets.sync.client import connect

    pets = has_pets(app_server)
    stream = "petCreation" if pets else "openai"
    page.goto(f"{app_server.url}/#/streams/{stream}")
    expect(page.locator(f'.stream-item.active[data-stream="{stream}"]')).to_be_visible()
    if pets:
        response = httpx.post(f"{app_server.url}/pets", json={"name": "Nemo", "species": "other", "ageMonths": 5})
    else:
        response = httpx.post(f"{app_server.url}/open-ai", json={"message": "streams view"})
    item = response.json()
    group = item["__motia"]["groupId"]
    # The new group appears without a reload; its items update as the steps write them.
    chip = page.locator(f'#stream-groups .group-chip[data-group="{group}"]')
    expect(chip).to_be_visible()
    chip.click()
    expect(page.locator('#stream-items tr[data-id="message"]')).to_be_visible()
    if pets:
        expect(page.locator('#stream-items tr[data-id="completed"]')).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        # The orchestrator's last automatic step: the pet is up for adoption (and may turn ill).
        expect(page.locator('#stream-items tr[data-id="available"]')).to_be_visible(timeout=LIVE_TIMEOUT_MS)

    # An app client joining the group shows up in the counts; frames it is sent are counted.
    with connect(app_server.ws_url) as ws:
        ws.send(json.dumps({"type": "join", "data": {"streamName": stream, "groupId": group, "subscriptionId": "t1"}}))
        assert json.loads(ws.recv(timeout=5))["event"]["type"] == "sync"
        expect(page.locator("#stat-clients")).to_have_text("1", timeout=5_000)
        if pets:
            frames = int(page.locator("#stat-frames").inner_text())
            # A staff status change makes the orchestrator write to the pet's group.
            httpx.put(f"{app_server.url}/pets/{item['petId']}", json={"status": "ill"})
            ws.recv(timeout=10)
            expect(page.locator("#stat-frames")).not_to_have_text(str(frames), timeout=5_000)
            # ill moves on to under_treatment by itself; then the group is settled.
            expect(page.locator('#stream-items tr[data-id="under_treatment"]')).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        # Every item the server holds is on the page (none lost between the snapshot and the pushes).
        url = f"{app_server.url}/__motia/streams/{stream}/groups/{group}"
        held = {i["id"] for i in httpx.get(url).json()["items"]}
        rows = page.locator("#stream-items tr[data-id]")
        expect(rows).to_have_count(len(held))
        assert set(rows.evaluate_all("rows => rows.map((r) => r.dataset.id)")) == held
        screenshot(page, "streams")
    expect(page.locator("#stat-clients")).to_have_text("0", timeout=5_000)
    assert page.problems == []


def test_streams_view_shows_live_analytics_with_a_chart(app_server: InProcessServer, page: Any,
                                                       screenshot: Any) -> None:
    """The Streams view's Live card (/__motia/streams/analytics): an app client joins a group and
    frames flow to it; the card shows the client, frames per second, the lag and the group, and the
    chart draws the last seconds."""
    from websockets.sync.client import connect

    group = f"live-{uuid.uuid4().hex[:6]}"
    page.goto(f"{app_server.url}/#/streams/petRoom")
    expect(page.locator("#stream-live #live-clients")).to_have_text("0", timeout=5_000)
    with connect(app_server.ws_url) as ws:
        ws.send(json.dumps({"type": "join", "data": {"streamName": "petRoom", "groupId": group, "subscriptionId": "w1",
                                                     "presence": {"name": "wb"}}}))
        expect(page.locator("#live-clients")).to_have_text("1", timeout=5_000)
        expect(page.locator("#live-subscriptions")).to_have_text("1")
        for n in range(6):  # client events, each pushed back to the group's one subscriber
            say = {"type": "say", "data": {"name": "wb", "text": str(n)}}
            ws.send(json.dumps({"type": "event", "data": {"streamName": "petRoom", "groupId": group, "event": say}}))
        expect(page.locator("#live-fps")).not_to_have_text("0", timeout=5_000)
        expect(page.locator("#live-p50")).to_have_text(re.compile(r"^\d+ ms$"))
        expect(page.locator(f'#live-groups tr[data-group="{group}"]')).to_be_visible()
        expect(page.locator("#stream-rate-chart polyline")).to_have_count(1, timeout=5_000)
        assert float(page.locator("#stream-rate-chart").get_attribute("data-peak")) >= 1
        screenshot(page, "streams-live", full_page=False)
    expect(page.locator("#live-clients")).to_have_text("0", timeout=5_000)
    assert page.problems == []


def test_state_view_browses_groups_and_follows_writes(lab_server: InProcessServer, page: Any, screenshot: Any) -> None:
    page.goto(f"{lab_server.url}/#/state")
    expect(page.locator("#state-items")).to_contain_text("Select a group")
    first = httpx.post(f"{lab_server.url}/jobs", json={"mode": "ok"}).headers["x-trace-id"]
    group = page.locator('#state-groups [data-group="jobs"]')
    expect(group).to_be_visible()  # appeared live, from RunJob's write
    group.click()
    expect(page.locator(f'#state-items tr[data-key="{first}"]')).to_contain_text('"done":true')
    second = httpx.post(f"{lab_server.url}/jobs", json={"mode": "ok"}).headers["x-trace-id"]
    expect(page.locator(f'#state-items tr[data-key="{second}"]')).to_be_visible()
    screenshot(page, "state")
    assert page.problems == []


# -- Queues and dead letters, cron ------------------------------------------------------------------
def test_dead_letters_can_be_retried_and_dropped(lab_server: InProcessServer, page: Any, screenshot: Any) -> None:
    page.goto(f"{lab_server.url}/#/queues")
    expect(page.locator('#queue-table tr[data-step="RunJob"]')).to_be_visible()
    retried, dropped = (httpx.post(f"{lab_server.url}/jobs", json={"mode": "until-allowed"}).headers["x-trace-id"]
                        for _ in range(2))
    letter = {trace: page.locator("#dead-letters tr.dead-letter").filter(has=page.locator(f'a[href$="/{trace}"]'))
              for trace in (retried, dropped)}
    for row in letter.values():  # RunJob has maxRetries 0: one failure and the event is dead
        expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        expect(row).to_contain_text("RuntimeError: not allowed yet")
    expect(page.locator('#queue-table tr[data-step="RunJob"] .badge-error')).to_be_visible()
    screenshot(page, "queues")

    httpx.post(f"{lab_server.url}/allow")
    letter[retried].get_by_role("button", name="Retry").click()
    expect(page.locator("#queue-notice")).to_contain_text("queued again")
    expect(letter[retried]).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    # The event ran again, successfully this time, in its original trace.
    runs = httpx.get(f"{lab_server.url}/__motia/traces/{retried}").json()["spanList"]
    assert [s["status"] for s in runs if s["step"] == "RunJob"] == ["error", "ok"]

    letter[dropped].get_by_role("button", name="Drop").click()
    expect(page.locator("#queue-notice")).to_contain_text("dropped")
    expect(letter[dropped]).to_have_count(0)
    remaining = httpx.get(f"{lab_server.url}/__motia/queues/dead-letters").json()["deadLetters"]
    assert dropped not in {m["traceId"] for m in remaining}
    runs = httpx.get(f"{lab_server.url}/__motia/traces/{dropped}").json()["spanList"]
    assert [s["status"] for s in runs if s["step"] == "RunJob"] == ["error"]  # dropped: never run again
    assert page.problems == []


def test_queue_counts_cover_every_message_and_the_lists_page_past_200(lab_server: InProcessServer, page: Any) -> None:
    # The table counted the listed messages, at most 200 whatever the backlog, and the lists had no
    # way past them (/__motia/queues/counts; ?limit= and ?after= on the listings).
    with httpx.Client(base_url=lab_server.url, timeout=10) as client:
        for _ in range(205):  # mode fail: RunJob (maxRetries 0) dead-letters each one at once
            assert client.post("/jobs", json={"mode": "fail"}).status_code == 202

        def dead() -> int:
            return int(client.get("/__motia/queues/counts").json()["counts"].get("RunJob", {}).get("dead", 0))

        deadline = time.monotonic() + 30
        while dead() < 205:
            assert time.monotonic() < deadline, dead()
            time.sleep(0.1)
        total = dead()
        first = client.get("/__motia/queues/dead-letters").json()
        assert len(first["deadLetters"]) == 200 and first["next"] == first["deadLetters"][-1]["id"]
        ids = [m["id"] for m in first["deadLetters"]]
        after = first["next"]
        while after is not None:
            more = client.get("/__motia/queues/dead-letters", params={"after": after, "limit": 150}).json()
            ids += [m["id"] for m in more["deadLetters"]]
            after = more["next"]
        assert len(ids) == total and ids == sorted(set(ids))  # every one once, oldest first
        for bad, named in (({"limit": "0"}, ["limit"]), ({"limit": "1001"}, ["limit"]), ({"after": "x"}, ["after"]),
                           ({"limit": "150", "after": "x"}, ["after"]), ({"limit": "x", "after": "7"}, ["limit"])):
            refused = client.get("/__motia/queues/dead-letters", params=bad)
            assert refused.status_code == 400 and [e["field"] for e in refused.json()["errors"]] == named
    page.goto(f"{lab_server.url}/#/queues")
    expect(page.locator('#queue-table tr[data-step="RunJob"] .badge-error')).to_have_text(str(total))
    expect(page.locator("#dead-letters .more-messages")).to_have_text(f"The oldest 200 of {total}.")
    expect(page.locator("#dead-letters tr.dead-letter")).to_have_count(200)
    assert page.problems == []


def test_a_failed_run_shows_its_error_and_stack_in_the_trace(lab_server: InProcessServer, page: Any,
                                                             screenshot: Any) -> None:
    trace_id = httpx.post(f"{lab_server.url}/jobs", json={"mode": "fail"}).headers["x-trace-id"]
    page.goto(f"{lab_server.url}/#/traces/{trace_id}")
    expect(page.locator('.span-row[data-step="RunJob"]')).to_have_attribute("data-status", "error",
                                                                            timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#trace-status")).to_have_text("error")
    expect(page.locator("#trace-errors")).to_contain_text("RuntimeError: boom: this job always fails")
    page.locator("#trace-errors summary").click()
    expect(page.locator("#trace-errors .stack")).to_contain_text("Traceback")
    expect(page.locator('#trace-events .ev-row.ev-error[data-kind="log"]').first).to_be_visible()
    screenshot(page, "traces-error")
    assert page.problems == []


def test_cron_view_shows_next_runs_and_runs_a_job_now(lab_server: InProcessServer, page: Any, screenshot: Any) -> None:
    page.goto(f"{lab_server.url}/#/cron")
    row = page.locator('#cron-table tr.cron-job[data-step="Nightly"]')
    expect(row).to_contain_text("0 3 * * *")
    expect(row.locator(".cron-countdown")).to_have_text(re.compile(r"^in \d"))
    next_run = httpx.get(f"{lab_server.url}/__motia/cron").json()["jobs"][0]["nextRun"]
    assert next_run and "03:00:00" in next_run
    screenshot(page, "cron")
    row.get_by_role("button", name="Run now").click()
    link = page.locator("#cron-notice a")
    expect(link).to_contain_text("trace")
    link.click()
    expect(page.locator('.span-row[data-step="Nightly"]')).to_be_visible()
    # The cron run's emit reached the event step, in the same trace.
    expect(page.locator('.span-row[data-step="RunJob"]')).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#trace-status")).to_have_text("ok", timeout=LIVE_TIMEOUT_MS)
    assert page.problems == []


def test_the_request_form_fills_path_params_and_shows_errors(app_server: InProcessServer, page: Any,
                                                             screenshot: Any) -> None:
    if not has_pets(app_server):
        pytest.skip("needs the pet shelter's GET /pets/:id")
    pet = httpx.post(f"{app_server.url}/pets", json={"name": "Olive", "species": "bird", "ageMonths": 7}).json()
    page.goto(f"{app_server.url}/#/endpoints/GetPet")
    # GET has no body: the form opens on the parameters.
    expect(page.get_by_role("tab", name="Params")).to_have_attribute("aria-selected", "true")
    page.fill('input[data-param="id"]', pet["petId"])
    expect(page.locator("#url-preview")).to_have_text(f"GET {app_server.url}/pets/{pet['petId']}")
    page.click("#send")
    expect(page.locator("#response-status")).to_have_text("200")
    assert json.loads(page.locator("#response-body").inner_text())["name"] == "Olive"
    expect(page.locator("#live-item")).to_have_count(0)  # a plain body: nothing to watch
    screenshot(page, "endpoints-params", full_page=False)

    # A body the schema refuses: the 400 and its field errors are shown, in red.
    page.locator('#endpoint-list [data-step="CreatePet"]').click()
    page.locator("#body-editor").fill(json.dumps({"name": "", "species": "dragon"}))
    page.click("#send")
    status = page.locator("#response-status")
    expect(status).to_have_text("400")
    expect(status).to_have_class(re.compile(r"\bbadge-error\b"))
    expect(page.locator("#response-body")).to_contain_text("species")
    # Not JSON at all: caught in the page, nothing is sent.
    page.locator("#body-editor").fill("{nope")
    page.click("#send")
    expect(page.locator(".field-error")).to_contain_text("Not valid JSON")
    # Chromium reports the deliberate 400 as a failed resource load; anything else is a bug.
    assert [p for p in page.problems if "status of 400" not in p] == []


def test_the_page_reconnects_after_a_restart_and_shows_new_steps(tmp_path: Any, page: Any) -> None:
    root = write_lab(tmp_path / "project")
    server = DevServer(root, tmp_path / "data").start()
    try:
        page.goto(f"{server.url}/#/flows/lab")
        expect(page.locator("#live")).to_contain_text("Live")
        expect(page.locator("#flow-canvas .flow-node[data-kind=step]")).to_have_count(5)
        server.stop()
        expect(page.locator("#live")).to_contain_text("Reconnecting")
        # As when motia dev reloads after a file change: a new step, same address.
        (root / "functions" / "lab" / "audit_step.py").write_text(
            "from motia_runtime import EventConfig\n\n"
            "config = EventConfig(name='Audit', subscribes=['job.done'], flows=['lab'])\n\n\n"
            "async def handler(input, ctx):\n    pass\n")
        server = DevServer(root, tmp_path / "data", port=server.port).start()
        expect(page.locator("#live")).to_contain_text("Live", timeout=10_000)
        expect(page.locator('.flow-node[data-step="Audit"]')).to_be_visible()
        assert overlapping(page.evaluate(BOXES_JS)) == []
    finally:
        server.stop()
    # While the server was down, the page's reconnect attempts were refused: nothing else went wrong.
    assert [p for p in page.problems if "WebSocket connection" not in p] == []


# -- Private streams and state editing --------------------------------------------------------------
def test_endpoints_watch_an_item_of_a_private_stream_with_a_workbench_token(lab_server: InProcessServer, page: Any,
                                                                            screenshot: Any) -> None:
    def vault_clients() -> int:
        streams = httpx.get(f"{lab_server.url}/__motia/streams").json()["streams"]
        return next(s["clients"] for s in streams if s["name"] == "vault")  # type: ignore[no-any-return]

    page.goto(f"{lab_server.url}/#/endpoints/StartSecretJob")
    page.click("#send")
    expect(page.locator("#response-status")).to_have_text("202")
    group = page.locator("#open-trace code").inner_text()
    live = page.locator("#live-item")
    # The stream is not public: the page asked motia dev for a token and joined with it, so the
    # item's later values (written by RunSecretJob) arrive live.
    expect(live.locator(".progress")).to_have_attribute("aria-valuenow", "100", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#live-message")).to_have_text("done")
    assert int(live.get_attribute("data-updates") or 0) >= 2  # the sync, then pushed changes
    stages = page.locator("#stage-list li").all_inner_texts()
    assert any("queued" in s for s in stages) and any("done" in s for s in stages), stages
    expect(page.locator('#live-group .group-item[data-id="job"]')).to_contain_text("done")
    expect(page.locator(".live-wrap .error-box")).to_have_count(0)
    assert vault_clients() == 1
    screenshot(page, "endpoints-private-stream")

    # The Streams view marks it private and shows the group's items too.
    page.evaluate(f"location.hash = '#/streams/vault?group={group}'")
    expect(page.locator('.stream-item[data-stream="vault"] .stream-private')).to_have_text("private")
    expect(page.locator('#stream-items tr[data-id="job"]')).to_contain_text("done")
    screenshot(page, "streams-private", full_page=False)
    # Leaving the Endpoints view closed the group's socket.
    deadline = time.time() + 5
    while vault_clients() and time.time() < deadline:
        time.sleep(0.05)
    assert vault_clients() == 0
    assert page.problems == []


def test_state_values_are_edited_and_deleted_in_the_state_view(lab_server: InProcessServer, page: Any,
                                                               screenshot: Any) -> None:
    api = f"{lab_server.url}/__motia/state"

    def held() -> dict[str, Any]:
        return {i["key"]: i["value"] for i in httpx.get(api, params={"group": "config"}).json()["items"]}

    httpx.put(f"{api}/config/limits", json={"max": 3, "owner": "ops"})
    httpx.put(f"{api}/config/banner", json="hello")
    page.goto(f"{lab_server.url}/#/state/config")
    row = page.locator('#state-items tr[data-key="limits"]')
    expect(row).to_contain_text('"max":3')
    row.get_by_role("button", name="Edit", exact=True).click()
    editor = row.locator("textarea.state-editor")
    expect(editor).to_be_focused()
    expect(editor).to_have_value(json.dumps({"max": 3, "owner": "ops"}, indent=2))

    # Invalid JSON: the error is shown as you type, and Save is off.
    editor.fill('{"max": 4,}')
    expect(row.locator(".state-error")).to_contain_text("Not valid JSON")
    expect(row.locator("button.state-save")).to_be_disabled()
    editor.press("Control+Enter")  # the shortcut saves nothing either
    screenshot(page, "state-edit-invalid", full_page=False)
    assert held()["limits"] == {"max": 3, "owner": "ops"}

    # A write elsewhere in the group shows up live; the open editor keeps what was typed.
    httpx.put(f"{api}/config/banner", json="changed by someone else")
    expect(page.locator('#state-items tr[data-key="banner"]')).to_contain_text("changed by someone else")
    expect(editor).to_have_value('{"max": 4,}')

    editor.fill('{"max": 4, "owner": "ops", "names": ["a", "b"]}')
    expect(row.locator(".state-error")).to_have_text("")
    screenshot(page, "state-edit", full_page=False)
    row.locator("button.state-save").click()
    expect(page.locator("#state-notice")).to_contain_text("Saved limits")
    expect(row.locator("textarea")).to_have_count(0)
    expect(row).to_contain_text('"max":4')
    assert held()["limits"] == {"max": 4, "owner": "ops", "names": ["a", "b"]}

    # Delete asks first.
    banner = page.locator('#state-items tr[data-key="banner"]')
    banner.get_by_role("button", name="Delete", exact=True).click()
    expect(banner).to_contain_text("Delete this key?")
    screenshot(page, "state-delete-confirm", full_page=False)
    banner.get_by_role("button", name="Delete", exact=True).click()
    expect(banner).to_have_count(0)
    expect(page.locator("#state-notice")).to_contain_text("Deleted banner")
    assert list(held()) == ["limits"]

    # Deleted elsewhere: the view follows, and the empty group leaves the list.
    httpx.delete(f"{api}/config/limits")
    expect(page.locator("#state-items")).to_contain_text("This group is empty")
    expect(page.locator('#state-groups [data-group="config"]')).to_have_count(0)
    assert page.problems == []

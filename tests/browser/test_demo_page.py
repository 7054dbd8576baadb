"""Motia's official browser clients, unchanged, against ``motia dev`` in headless Chromium.

* The pet shelter demo (``clients/web``, served at ``/demo/``): create a pet with the form and see
  every stage of its ``petCreation`` group arrive through ``useStreamGroup`` / ``useStreamItem``.
* The stream inspector (``/demo/inspector.html``), a small page on the same hooks: sync, create,
  update, delete, custom events through ``useStreamEventHandler``, and Motia's ``error`` event for
  a refused join, against the client tests' project.

Needs the built pages (``make web``), pip Playwright and Debian's Chromium (``conftest.py``'s
``page`` fixtures, on its module-scoped browser); skipped with the reason when one is
missing, an error in CI.
"""

from __future__ import annotations

import itertools
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import _unavailable
from tests.client.project import GOOD_TOKEN, write_project
from tests.support.dev_server import REPO
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's ``playwright`` fixture skips (or fails in CI) with the reason
    expect = None

DIST = REPO / "clients" / "web" / "dist"


@pytest.fixture(scope="module", autouse=True)
def built_pages() -> None:
    if not (DIST / "demo.js").is_file():
        _unavailable("clients/web/dist is not built (make web: needs node and npm)")


# -- the pet shelter demo ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shelter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The repo's own app (pets + OpenAI example) with short stage pauses; no OpenAI key, so the
    enrichment streams the tutorial's fallback profile.

    The page joins the pet's group only once the POST has answered, and a stream has no history:
    a stage message replaced before the join never reaches the timeline. At 150 ms a stage, a
    loaded CI machine joined after the second one (the timeline then began with the quarantine
    message); 400 ms leaves the page that long to join."""
    server = InProcessServer(REPO, tmp_path_factory.mktemp("shelter-data"),
                             env={"PET_STAGE_DELAY_MS": "400", "PET_FIELD_DELAY_MS": "50"}).start()
    yield server
    server.stop()


ENRICHMENT = ["enrichment_started", "progress_bio", "progress_breedGuess", "progress_temperamentTags",
              "progress_adopterHints", "completed"]


# Records every value each bar shows, so a test can check the in-between states without racing them.
RECORD_BARS = """() => {
  window.__bars = {}
  const note = (el) => {
    const seen = (window.__bars[el.dataset.stage] ||= [])
    if (seen[seen.length - 1] !== el.dataset.progress) seen.push(el.dataset.progress)
  }
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') note(r.target)
      for (const n of r.addedNodes || []) if (n.querySelectorAll) n.querySelectorAll('[data-stage]').forEach(note)
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-progress'] })
}"""


def create_pet(page: Any, name: str, symptoms: str = "") -> None:
    page.fill("input[name=name]", name)
    page.select_option("select[name=species]", "dog")
    page.fill("input[name=ageMonths]", "14")
    page.fill("input[name=symptoms]", symptoms)
    page.click("button[type=submit]")


# Every WebSocket's ``onopen`` handler is held until the test calls ``window.__releaseOpen()``: the
# page stays "probing" as long as the test needs. (A fixed 400 ms delay raced a loaded CI machine,
# whose page had already switched by the time the first check ran.)
HOLD_OPEN = """(() => {
  const Real = window.WebSocket
  const held = []
  let released = false
  window.__releaseOpen = () => { released = true; held.splice(0).forEach((run) => run()) }
  window.WebSocket = class extends Real {
    set onopen(fn) {
      super.onopen = fn ? (e) => { if (released) fn.call(this, e); else held.push(() => fn.call(this, e)) } : null
    }
    get onopen() { return super.onopen }
  }
})()"""


def test_what_is_typed_while_the_page_probes_the_websocket_is_kept(shelter: InProcessServer, page: Any) -> None:
    """The form stays mounted when the probe's answer switches the page to the WebSocket: it was
    re-mounted under the stream provider, and a name typed meanwhile went back to "Buddy"."""
    page.add_init_script(HOLD_OPEN)
    page.goto(f"{shelter.url}/demo/")
    expect(page.locator("#transport")).to_have_attribute("data-transport", "probing")
    page.fill("input[name=name]", "Mochi")
    page.evaluate("window.__releaseOpen()")
    expect(page.locator("#transport")).to_have_attribute("data-transport", "websocket")
    expect(page.locator("input[name=name]")).to_have_value("Mochi")


def test_demo_page_shows_every_stage_of_a_new_pet(shelter: InProcessServer, page: Any,
                                                   screenshot: Callable[[Any, str], Path]) -> None:
    page.goto(f"{shelter.url}/demo/")
    page.evaluate(RECORD_BARS)
    create_pet(page, "Buddy")
    expect(page.locator("#progress h2")).to_contain_text("Buddy")

    expect(page.locator("[data-stage=health_check]")).to_have_attribute("data-progress", "100", timeout=10_000)
    for stage in ENRICHMENT:
        expect(page.locator(f"[data-stage={stage}]")).to_have_attribute("data-progress", "100", timeout=10_000)
    expect(page.locator("[data-stage=ai_overall]")).to_have_attribute("data-progress", "100")
    expect(page.locator("#journey-message")).to_have_text("Buddy is healthy and ready for adoption! ✅")
    # Each intake bar was empty, half full while its stage ran, then full; the journey (0 until
    # the first sync) went 10 → 40 → 70 → 100.
    bars = page.evaluate("window.__bars")
    assert bars["quarantine"] == ["0", "50", "100"]
    assert bars["health_check"] == ["0", "50", "100"]
    assert bars["intake_overall"] == ["0", "10", "40", "70", "100"]

    # Every stage text arrived, the message item's in order.
    timeline = page.locator("#timeline li[data-item=message]")
    expect(timeline).to_have_count(4)
    texts = timeline.all_text_contents()
    assert texts[0].startswith("Pet Buddy (ID: ") and "created successfully" in texts[0]
    assert texts[1:] == ["Pet Buddy entered quarantine period", "Health check passed for Buddy - no symptoms found",
                         "Buddy is healthy and ready for adoption! ✅"]
    enrichment = page.locator("#timeline li").filter(has_text="enrichment").all_text_contents()
    assert enrichment == ["AI enrichment started for Buddy", "AI enrichment completed with fallback profile for Buddy"]
    for field in ("bio", "breedGuess", "temperamentTags", "adopterHints"):
        expect(page.locator(f"#timeline li[data-item=progress_{field}]")).to_have_text(f"Generated {field} for Buddy")
    # The orchestrator's status items land in the same group.
    expect(page.locator("#statuses li[data-status=available]")).to_be_visible(timeout=10_000)
    screenshot(page, "demo-pet-created")
    assert page.problems == []


def test_demo_page_shows_a_failed_health_check(shelter: InProcessServer, page: Any) -> None:
    page.goto(f"{shelter.url}/demo/")
    create_pet(page, "Rex", symptoms="coughing, limp")
    expect(page.locator("#journey-message")).to_have_text("Rex needs medical treatment ❌", timeout=10_000)
    expect(page.locator("#timeline li[data-item=message]").nth(2)).to_have_text(
        "Health check failed for Rex - symptoms detected: coughing, limp")
    expect(page.locator("[data-stage=health_check]")).to_have_attribute("data-progress", "100")
    expect(page.locator("#statuses li[data-status=under_treatment]")).to_be_visible(timeout=10_000)
    assert page.problems == []


def test_demo_page_reports_a_refused_pet(shelter: InProcessServer, page: Any) -> None:
    page.goto(f"{shelter.url}/demo/")
    page.fill("input[name=ageMonths]", "-1")
    page.eval_on_selector("input[name=ageMonths]", "el => el.removeAttribute('min')")
    page.click("button[type=submit]")
    expect(page.locator("#form-error")).to_contain_text("400")
    expect(page.locator("#progress")).to_have_count(0)


# -- the React hooks, on the inspector page ----------------------------------------------------------------
@pytest.fixture(scope="module")
def todo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The client tests' project (stream ``todo``, ``POST /ops``, auth) with the built pages copied in."""
    root = write_project(tmp_path_factory.mktemp("hooks-project"))
    shutil.copytree(DIST, root / "clients" / "web" / "dist")
    server = InProcessServer(root, tmp_path_factory.mktemp("hooks-data")).start()
    yield server
    server.stop()


def ops(server: InProcessServer, *operations: dict[str, Any]) -> None:
    httpx.post(f"{server.url}/ops", json={"ops": list(operations)}, timeout=10).raise_for_status()


def put(group: str, id: str, text: str) -> dict[str, Any]:
    return {"op": "set", "group": group, "id": id, "data": {"text": text}}


def test_react_hooks_see_sync_changes_delete_and_custom_events(todo_server: InProcessServer, page: Any) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    ops(todo_server, put(group, "a", "first"), put(group, "b", "second"))
    page.goto(f"{todo_server.url}/demo/inspector.html?stream=todo&group={group}&id=a&event=ping")
    items = page.locator("#group li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text('a: {"text":"first"')
    expect(page.locator("#item")).to_contain_text('"text":"first"')

    ops(todo_server, put(group, "c", "third"), put(group, "a", "first, edited"))
    expect(page.locator("#group li[data-id=c]")).to_contain_text("third")
    expect(page.locator("#group li[data-id=a]")).to_contain_text("first, edited")
    expect(page.locator("#item")).to_contain_text("first, edited")

    ops(todo_server, {"op": "delete", "group": group, "id": "b"})
    expect(page.locator("#group li[data-id=b]")).to_have_count(0)
    expect(items).to_have_count(2)

    # Custom events: a group channel reaches useStreamGroup's subscription; an item channel both.
    ops(todo_server, {"op": "send", "group": group, "type": "ping", "data": {"n": 1}})
    ops(todo_server, {"op": "send", "group": group, "id": "a", "type": "ping", "data": {"n": 2}})
    expect(page.locator("#group-events li")).to_have_text(['{"n":1}', '{"n":2}'])
    expect(page.locator("#item-events li")).to_have_text(['{"n":2}'])

    # useStreamItem turns a delete into null.
    ops(todo_server, {"op": "delete", "group": group, "id": "a"})
    expect(page.locator("#item")).to_have_text("null")
    expect(page.locator("#group li")).to_have_text(['c: {"text":"third","done":false}'])
    assert page.problems == []


def test_official_clients_send_the_token_as_motia_does(todo_server: InProcessServer, page: Any) -> None:
    group = f"private-{uuid.uuid4().hex[:8]}"
    ops(todo_server, put(group, "a", "secret"))
    # ?token= makes the page pass protocols ['Authorization', token] to MotiaStreamProvider.
    page.goto(f"{todo_server.url}/demo/inspector.html?stream=todo&group={group}&token={GOOD_TOKEN}")
    expect(page.locator("#group li[data-id=a]")).to_contain_text("secret")
    assert page.problems == []


def test_official_clients_only_see_a_refused_join_as_an_error_event(todo_server: InProcessServer, page: Any) -> None:
    """The server refuses both joins with error frames; the hooks' state never changes, and the
    only signal is a custom ``error`` event that useStreamEventHandler catches only if its effect
    ran before the frame came (a race the page cannot win for sure)."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    group = f"private-{uuid.uuid4().hex[:8]}"
    page.goto(f"{todo_server.url}/demo/inspector.html?stream=todo&group={group}&id=a")
    deadline = time.monotonic() + 10
    while sum("STREAM_ACCESS_DENIED" in f for f in frames) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert sum("STREAM_ACCESS_DENIED" in f for f in frames) == 2  # the item's join and the group's
    expect(page.locator("#group li")).to_have_count(0)
    expect(page.locator("#item")).to_have_text("undefined")  # looks like "still loading", forever
    for shown in page.locator("#errors li").all_text_contents():
        assert "STREAM_ACCESS_DENIED" in shown


def test_official_clients_retry_a_refused_token_every_two_seconds(todo_server: InProcessServer, page: Any) -> None:
    """Motia's browser client has no auth error: a refused handshake is just a close, retried
    every 2 s forever (what docs/clients.md warns about; our Python client raises instead)."""
    opened: list[float] = []
    page.on("websocket", lambda ws: opened.append(time.monotonic()))
    # When the client made each socket, on the page's own clock: Playwright hands its events to this
    # thread in batches, so times taken here moved with the load (a 2 s retry seen as 1.86 s).
    page.add_init_script("window.__opened = []; const Socket = window.WebSocket;"
                         "window.WebSocket = class extends Socket {"
                         "  constructor(...args) { super(...args); window.__opened.push(performance.now()); } };")
    page.goto(f"{todo_server.url}/demo/inspector.html?stream=todo&group=g&token=stolen")
    deadline = time.monotonic() + 10
    while len(opened) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(opened) >= 3  # real sockets, as the browser opened them
    made = page.evaluate("window.__opened")
    assert len(made) >= 3, made
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(made)]
    assert all(gap >= 1.9 for gap in gaps), gaps  # a fixed 2 s, no backoff
    expect(page.locator("#group li")).to_have_count(0)
    expect(page.locator("#errors li")).to_have_count(0)


# -- the pet's room: presence, client events, and the SSE fallback ------------------------------------------
def test_two_pages_see_each_other_watching_and_chat_with_a_typing_indicator(shelter: InProcessServer,
                                                                              context: Any) -> None:
    """Presence ("who's watching this pet") and client events (typing, say) on the petRoom stream,
    between two real pages; a page that closes leaves the other's list."""
    ann, bob = context.new_page(), context.new_page()
    ann.goto(f"{shelter.url}/demo/?name=ann")
    create_pet(ann, "Mochi")
    expect(ann.locator("#progress h2")).to_contain_text("Mochi")
    group = ann.locator("#progress").get_attribute("data-group")
    bob.goto(f"{shelter.url}/demo/?name=bob&pet={group}&petName=Mochi")
    for page in (ann, bob):
        expect(page.locator("#room")).to_have_attribute("data-transport", "websocket")
        expect(page.locator("#watchers li")).to_have_count(2)
        names = page.locator("#watchers li").evaluate_all("els => els.map(e => e.dataset.name)")
        assert sorted(names) == ["ann", "bob"]
    # bob's page follows the same pet's progress (a shared link) through Motia's hooks.
    expect(bob.locator("[data-stage=health_check]")).to_have_attribute("data-progress", "100", timeout=10_000)

    bob.locator("#chat-form input[name=text]").press_sequentially("hel")
    expect(ann.locator("#typing")).to_have_text("bob is typing…")
    expect(bob.locator("#typing")).not_to_contain_text("typing")  # one's own typing is not shown
    bob.locator("#chat-form input[name=text]").press_sequentially("lo")
    bob.click("#chat-form button")
    for page in (ann, bob):  # each line comes back from the server, to the sender too
        expect(page.locator("#chat li")).to_have_text(["bob: hello"])
    ann.locator("#chat-form input[name=text]").fill("hi bob")
    ann.click("#chat-form button")
    expect(bob.locator("#chat li")).to_have_text(["bob: hello", "ann: hi bob"])

    bob.close()
    expect(ann.locator("#watchers li")).to_have_count(1)
    expect(ann.locator("#watchers li")).to_have_attribute("data-name", "ann")
    ann.close()


def test_a_refused_chat_line_shows_the_servers_error(shelter: InProcessServer, page: Any) -> None:
    """The room's schema caps a line at 500 characters: the server answers an error event and the
    page stays joined."""
    page.goto(f"{shelter.url}/demo/?name=dee")
    create_pet(page, "Pip")
    expect(page.locator("#room")).to_have_attribute("data-transport", "websocket")
    expect(page.locator("#watchers li")).to_have_count(1)
    page.eval_on_selector("#chat-form input[name=text]", "el => el.removeAttribute('maxlength')")
    page.locator("#chat-form input[name=text]").fill("x" * 501)
    page.click("#chat-form button")
    expect(page.locator("#room-error")).to_contain_text("INVALID_EVENT")
    page.locator("#chat-form input[name=text]").fill("short")
    page.click("#chat-form button")
    expect(page.locator("#chat li")).to_have_text(["dee: short"])
    assert page.problems == []


def test_without_a_websocket_the_page_reads_the_streams_over_sse(shelter: InProcessServer, page: Any,
                                                                   screenshot: Callable[[Any, str], Path]) -> None:
    """The WebSocket address does not answer (a proxy that drops upgrades): the page falls back to
    Server-Sent Events for the pet's progress and, read-only, for its room."""
    from tests.support.fake_openai import free_port

    dead = f"ws://127.0.0.1:{free_port()}/"
    watcher = page.context.new_page()
    page.goto(f"{shelter.url}/demo/?ws={dead}")
    expect(page.locator("#transport")).to_have_attribute("data-transport", "sse")
    page.evaluate(RECORD_BARS)
    create_pet(page, "Sly")
    expect(page.locator("#progress h2")).to_contain_text("Sly")
    for stage in ["health_check", *ENRICHMENT]:
        expect(page.locator(f"[data-stage={stage}]")).to_have_attribute("data-progress", "100", timeout=10_000)
    expect(page.locator("#journey-message")).to_have_text("Sly is healthy and ready for adoption! ✅")
    assert page.evaluate("window.__bars")["intake_overall"][-1] == "100"
    expect(page.locator("#timeline li[data-item=message]")).to_have_count(4)
    expect(page.locator("#room")).to_have_attribute("data-transport", "sse")
    expect(page.locator("#room-read-only")).to_be_visible()
    # A page on the WebSocket joins the room: the SSE page sees it arrive, and its chat lines.
    group = page.locator("#progress").get_attribute("data-group")
    watcher.goto(f"{shelter.url}/demo/?name=eve&pet={group}")
    expect(page.locator("#watchers li[data-name=eve]")).to_have_count(1)
    watcher.locator("#chat-form input[name=text]").fill("anyone here?")
    watcher.click("#chat-form button")
    expect(page.locator("#chat li")).to_have_text(["eve: anyone here?"])
    screenshot(page, "demo-sse-fallback")
    # The only console errors are the browser's own reports of the dead WebSocket address.
    assert [p for p in page.problems if "WebSocket connection to" not in p] == []
    watcher.close()

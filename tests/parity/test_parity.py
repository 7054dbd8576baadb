"""Parity: the same scenarios against ``motia dev``, ``CloudSim`` and ``motia cloud``, and each
subscription's frames compared across the three (``frames.py`` says what is compared and what the
AWS hosts are allowed to differ in; docs/cloud-local.md names those differences).

Scenarios: the streams docs' OpenAI example (a local OpenAI-compatible server), a healthy pet, an
ill pet, and refused joins. One server per host for the module.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from functions.pets import messages as msg

from tests.parity.frames import Canonical, canonical, error_frames, normalize
from tests.parity.hosts import LiveHost, SimHost
from tests.pets.support import ModelScript
from tests.support.cloud_server import CloudServer
from tests.support.dev_server import REPO, DevServer
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow
testing = pytest.importorskip("motia_runtime.testing")

PROMPT = "Tell me about parity"
REPLY = "The same frames, in the same order, on every host."
STAGE_MS, FIELD_MS = "400", "20"  # a stage pause lets a client join before the pet moves on


def model_reply(body: dict[str, Any]) -> str:
    if body.get("messages") == [{"role": "system", "content": PROMPT}]:
        return REPLY
    return ModelScript()(body)


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(reply=model_reply, chunk_size=12, chunk_delay_s=0.02).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def dev(model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHost]:
    server = DevServer(REPO, tmp_path_factory.mktemp("parity-dev"), env={
        "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": model.base_url,
        "PET_STAGE_DELAY_MS": STAGE_MS, "PET_FIELD_DELAY_MS": FIELD_MS}).start()
    yield LiveHost("motia dev", server.url, server.ws_url)
    server.stop()


@pytest.fixture(scope="module")
def sim(model: FakeOpenAI) -> Iterator[SimHost]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PET_STAGE_DELAY_MS", STAGE_MS)
        patch.setenv("PET_FIELD_DELAY_MS", FIELD_MS)
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "PET_AI_MODEL"):
            patch.delenv(name, raising=False)
        parameters = {"EnvOpenaiBaseUrl": model.base_url}
        with testing.CloudSim(REPO, parameters=parameters) as cloud_sim:
            # The key is a secret of the app ([tool.motia.secrets]): in SSM, as on AWS.
            cloud_sim.client("ssm").put_parameter(Name="/motia-app/openai-api-key", Value="sk-test",
                                                  Type="SecureString")
            yield SimHost(cloud_sim)


@pytest.fixture(scope="module")
def cloud(model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHost]:
    server = CloudServer(REPO, tmp_path_factory.mktemp("parity-cloud"), args=[
        "--secret", "OPENAI_API_KEY=sk-test", "--parameter", f"EnvOpenaiBaseUrl={model.base_url}",
        "--env", f"PET_STAGE_DELAY_MS={STAGE_MS}", "--env", f"PET_FIELD_DELAY_MS={FIELD_MS}"]).start()
    yield LiveHost("motia cloud", server.http_url, server.ws_url)
    server.stop()


@pytest.fixture(scope="module")
def hosts(dev: LiveHost, sim: SimHost, cloud: LiveHost) -> list[Any]:
    return [dev, sim, cloud]


def settled(host: Any, conn: Any, done: Callable[[], bool], quiet_s: float = 1.0) -> None:
    """Until ``done`` holds and, on a live host, no frame came for ``quiet_s`` (stragglers)."""
    host.settle(done)
    if isinstance(host, LiveHost):
        count = -1
        while count != len(conn.frames):
            count = len(conn.frames)
            time.sleep(quiet_s)


def assert_same(results: dict[str, Canonical]) -> None:
    names = list(results)
    first = results[names[0]].comparable()
    for name in names[1:]:
        other = results[name].comparable()
        assert other == first, f"{name} differs from {names[0]}:\n{json.dumps(first, indent=1)[:4000]}\n---\n" \
                               f"{json.dumps(other, indent=1)[:4000]}"
    # motia dev pushes at write time and CloudSim right after each request: neither repeats what a
    # sync held. motia cloud may (KNOWN_DIVERGENCES["repeat after sync"]).
    assert results["motia dev"].repeats == 0 and results["CloudSim"].repeats == 0


# -- scenarios -----------------------------------------------------------------------------------------
def openai_example(host: Any, model: FakeOpenAI) -> tuple[Any, Canonical]:
    # The reply waits until the client has its sync, so every host's client sees it from the start.
    model.gate = threading.Event()
    status, body = host.http("POST", "/open-ai", {"message": PROMPT})
    group = body["__motia"]["groupId"]
    conn = host.connect()
    conn.join("openai", group, "message")
    if isinstance(host, LiveHost):
        host.settle(lambda: any((f.get("event") or {}).get("type") == "sync" for f in conn.frames))
    model.gate.set()

    def done() -> bool:
        return any(((f.get("event") or {}).get("data") or {}).get("message") == REPLY for f in conn.frames
                   if isinstance((f.get("event") or {}).get("data"), dict))

    settled(host, conn, done)
    conn.close()
    subs = {group: "<group>"}
    return (status, normalize(body, subs)), canonical(conn.frames, "openai", group, "message", subs)


def test_the_openai_example_streams_the_same_frames_on_every_host(hosts: list[Any], model: FakeOpenAI) -> None:
    results = {host.name: openai_example(host, model) for host in hosts}
    responses = {name: r[0] for name, r in results.items()}
    assert len({json.dumps(r, sort_keys=True) for r in responses.values()}) == 1, responses
    canon = {name: r[1] for name, r in results.items()}
    assert_same(canon)
    states = canon["motia dev"].items["message"]
    assert states[-1]["message"] == REPLY and len(states) >= 4  # chunk by chunk, not just the end


def pet(host: Any, body: dict[str, Any], final: str, status_item: str) -> Canonical:
    for _ in range(3):  # a join that came after the pet moved on (a loaded machine) is tried again
        status, created = host.http("POST", "/pets", body)
        assert status == 201, created
        group, pet_id = created["__motia"]["groupId"], created["petId"]
        conn = host.connect()
        conn.join("petCreation", group)
        host.settle(lambda conn=conn: any((f.get("event") or {}).get("type") == "sync" for f in conn.frames))
        [sync] = [f for f in conn.frames if f["event"]["type"] == "sync"][:1]
        if [i.get("stage") for i in sync["event"]["data"] if i["id"] == "message"] == ["created"]:
            break
        conn.close()
    else:
        raise AssertionError(f"{host.name}: three joins came after the pet's first stage")

    def done() -> bool:
        seen = canonical(conn.frames, "petCreation", group).items
        message = seen.get("message") or [{}]
        completed = seen.get("completed") or [{}]
        return message[-1].get("message") == final and status_item in seen \
            and str(completed[-1].get("message", "")).startswith("AI enrichment completed")

    settled(host, conn, done)
    conn.close()
    return canonical(conn.frames, "petCreation", group, placeholders={group: "<group>", pet_id: "<petId>"})


def test_a_healthy_pet_streams_the_same_items_on_every_host(hosts: list[Any]) -> None:
    body = {"name": "Parity", "species": "dog", "ageMonths": 24, "weightKg": 20.5}
    results = {h.name: pet(h, body, msg.healthy_and_ready("Parity"), "available") for h in hosts}
    assert_same(results)
    items = results["motia dev"].items
    assert [s["message"] for s in items["message"]] == [
        msg.created("Parity", "<petId>", "dog", 24, "new"), msg.entered_quarantine("Parity"),
        msg.health_check_passed("Parity"), msg.healthy_and_ready("Parity")]


def test_an_ill_pet_streams_the_same_items_on_every_host(hosts: list[Any]) -> None:
    body = {"name": "Sickly", "species": "cat", "ageMonths": 8, "symptoms": ["coughing", "fever"]}
    results = {h.name: pet(h, body, msg.needs_treatment("Sickly"), "under_treatment") for h in hosts}
    assert_same(results)
    assert "healthy" not in results["motia dev"].items


def test_refused_joins_get_the_same_error_frames_on_every_host(hosts: list[Any]) -> None:
    out = {}
    for host in hosts:
        conn = host.connect()
        conn.join("noSuchStream", "g1")
        conn.send({"type": "join", "data": {"streamName": "openai"}})  # no groupId, no subscriptionId
        conn.send({"type": "shout", "data": {}})  # an unknown message type: $default on AWS
        host.settle(lambda conn=conn: len(error_frames(conn.frames)) >= 3)
        settled(host, conn, lambda: True, quiet_s=0.5)
        conn.close()
        out[host.name] = error_frames(conn.frames)
    assert out["CloudSim"] == out["motia dev"], out
    assert out["motia cloud"] == out["motia dev"], out
    assert len(out["motia dev"]) == 3


def test_the_suite_compares_something(tmp_path: Path) -> None:
    """The comparison is not vacuous: a changed state or a lost event makes two runs differ."""
    frames = [{"streamName": "s", "groupId": "g", "event": {"type": "sync", "data": [{"id": "a", "v": 1}]}},
              {"streamName": "s", "groupId": "g", "event": {"type": "update", "data": {"id": "a", "v": 2}}}]
    same = canonical(frames, "s", "g")
    assert same.items == {"a": [{"id": "a", "v": 1}, {"id": "a", "v": 2}]}
    repeated = canonical([*frames[:1], {"streamName": "s", "groupId": "g",
                                        "event": {"type": "create", "data": {"id": "a", "v": 1}}}, frames[1]], "s", "g")
    assert repeated.comparable() == same.comparable() and repeated.repeats == 1
    assert canonical(frames[:1], "s", "g").comparable() != same.comparable()

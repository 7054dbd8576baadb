"""``motia cloud`` serving a hand-written SAM app (tests/cloud/app) over real sockets: the HTTP API,
the WebSocket API with its Management API, Lambda workers and the event sources on moto.

One server for the module (2 environments per function at most, reload on); each test uses its
own keys. The reload test rewrites the app's code, so it comes last.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from motia_runtime.emulation.websocket_api import CONNECT_TIMEOUT_S
from tests.support.cloud_server import CloudServer

pytestmark = pytest.mark.slow
APP = Path(__file__).parent / "app"

# A handshake waits for $connect's function, a cold start on a loaded machine: as long as the gateway does.
OPEN_S = CONNECT_TIMEOUT_S + 1


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    root = tmp_path_factory.mktemp("cloud-app")
    shutil.copytree(APP, root, dirs_exist_ok=True)
    server = CloudServer(root, root / ".logs", args=["--parameter", "Setting=from-cli"], reload=True).start()
    yield server
    server.stop()


def seen(cloud: CloudServer, key: str, timeout_s: float = 30) -> dict[str, Any]:
    ddb = cloud.client("dynamodb")
    table = next(t for t in ddb.list_tables()["TableNames"] if "SeenTable" in t)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        item = ddb.get_item(TableName=table, Key={"pk": {"S": key}}).get("Item")
        if item:
            return json.loads(item["data"]["S"])  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"{key} never seen:\n{cloud.logs()[-3000:]}")


def wait_until(check: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


# -- HTTP API ---------------------------------------------------------------------------------------
def test_routes_become_payload_2_events_and_answers_become_responses(cloud: CloudServer) -> None:
    r = httpx.get(f"{cloud.http_url}/items/42?tag=a&tag=b", cookies={"c": "1"}, timeout=30)
    assert r.status_code == 200 and r.headers["x-version"] == "v1" and r.headers["set-cookie"] == "a=1"
    body = r.json()
    assert body["routeKey"] == "GET /items/{id}" and body["params"] == {"id": "42"}
    assert body["query"] == {"tag": "a,b"} and body["cookies"] == ["c=1"]
    # The template's environment, its parameter as passed on the command line, its MemorySize.
    assert (body["setting"], body["memory"]) == ("from-cli", 256)
    # A literal path wins over {id}; {proxy+} takes the rest; text bodies arrive as text, others base64.
    assert httpx.get(f"{cloud.http_url}/items/special", timeout=30).json()["routeKey"] == "GET /items/special"
    files = httpx.delete(f"{cloud.http_url}/files/a/b.txt", timeout=30).json()
    assert (files["routeKey"], files["params"]) == ("ANY /files/{proxy+}", {"proxy": "a/b.txt"})
    echoed = httpx.post(f"{cloud.http_url}/echo", json={"x": 1}, timeout=30).json()
    assert (echoed["body"], echoed["base64"]) == ('{"x":1}', False) or json.loads(echoed["body"]) == {"x": 1}
    binary = httpx.post(f"{cloud.http_url}/echo", content=b"\x00\xff",
                        headers={"content-type": "application/octet-stream"}, timeout=30).json()
    assert (binary["body"], binary["base64"]) == ("AP8=", True)
    # A result without statusCode is inferred as 200 JSON, as API Gateway does.
    plain = httpx.get(f"{cloud.http_url}/plain", timeout=30)
    assert (plain.status_code, plain.headers["content-type"], plain.json()) == (200, "application/json",
                                                                                {"hello": "world"})


def test_unknown_routes_and_failing_functions_answer_as_api_gateway(cloud: CloudServer) -> None:
    for method, path in (("GET", "/nowhere"), ("POST", "/items/1"), ("GET", "/")):
        r = httpx.request(method, f"{cloud.http_url}{path}", timeout=30)
        assert (r.status_code, r.json()) == (404, {"message": "Not Found"})
    r = httpx.get(f"{cloud.http_url}/boom", timeout=30)
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    failed = [i for i in cloud.invocations() if i["function"] == "BoomFunction"]
    assert failed[-1]["result"] == "error" and "RuntimeError: boom" in failed[-1]["error"]


def test_a_timeout_kills_the_invocation_and_a_crashed_worker_is_replaced(cloud: CloudServer) -> None:
    started = time.time()
    r = httpx.get(f"{cloud.http_url}/slow?s=5", timeout=30)  # the function's Timeout is 2 s
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    assert time.time() - started < 4.5
    timed_out = [i for i in cloud.invocations() if i["function"] == "SlowFunction"][-1]
    assert timed_out["result"] == "timeout" and "Task timed out after 2.00 seconds" in timed_out["error"]
    ok = httpx.get(f"{cloud.http_url}/slow?s=0", timeout=30)  # a new environment: cold
    assert ok.status_code == 200
    assert [i for i in cloud.invocations() if i["function"] == "SlowFunction"][-1]["start"] == "cold"

    for _ in range(2):
        r = httpx.get(f"{cloud.http_url}/crash", timeout=30)
        assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    crashes = [i for i in cloud.invocations() if i["function"] == "CrashFunction"]
    assert [(c["result"], c["start"]) for c in crashes[-2:]] == [("crash", "cold"), ("crash", "cold")]
    assert "exit status 3" in crashes[-1]["error"]


def test_cold_then_warm_and_more_environments_under_concurrency_up_to_the_cap(cloud: CloudServer) -> None:
    before = len([i for i in cloud.invocations() if i["function"] == "SlowFunction"])
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: httpx.get(f"{cloud.http_url}/slow?s=1", timeout=60), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    pids = {a.json()["pid"] for a in answers}
    assert len(pids) == 2  # the cap (--concurrency 2): the other two waited for a warm one
    runs = [i for i in cloud.invocations() if i["function"] == "SlowFunction"][before:]
    assert sorted(r["start"] for r in runs).count("warm") >= 2
    assert cloud.status()["functions"]["SlowFunction"]["environments"] == 2
    again = httpx.get(f"{cloud.http_url}/slow?s=0", timeout=30)
    assert again.json()["pid"] in pids
    assert [i for i in cloud.invocations() if i["function"] == "SlowFunction"][-1]["start"] == "warm"


# -- WebSocket API ------------------------------------------------------------------------------------
async def test_websocket_connect_routes_management_api_and_disconnect(cloud: CloudServer) -> None:
    url = f"{cloud.ws_url}?room=r1"
    async with websockets.connect(url, subprotocols=["Authorization", "tok"], open_timeout=OPEN_S,
                                  user_agent_header="motia-test") as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "tok"  # what $connect answered in Sec-WebSocket-Protocol
        await ws.send(json.dumps({"action": "echo", "n": 1}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert "route" in frame, (frame, cloud.logs()[-3000:])
        assert frame["route"] == "echo" and json.loads(frame["body"]) == {"action": "echo", "n": 1}
        assert frame["sourceIp"] == "127.0.0.1"  # GET @connections/{id}
        # No route for "other" and no $default: API Gateway's Forbidden, the connection kept.
        await ws.send(json.dumps({"action": "other"}))
        forbidden = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert forbidden["message"] == "Forbidden" and forbidden["connectionId"]
        connection_id = forbidden["connectionId"]
        connected = seen(cloud, f"connect:{connection_id}")
        assert connected == {"query": {"room": "r1"}, "agent": "motia-test"}
    # $disconnect ran; posting to the closed connection answered 410 Gone through the real client.
    assert seen(cloud, f"disconnect:{connection_id}") == {"gone": True, "code": 1000}


async def test_refused_connect_oversized_frames_and_delete_connection(cloud: CloudServer) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{cloud.ws_url}?token=bad", open_timeout=OPEN_S):
            pass
    assert refused.value.response.status_code == 401
    async with websockets.connect(cloud.ws_url, max_size=None, open_timeout=OPEN_S) as ws:
        await ws.send(json.dumps({"action": "echo", "pad": "x" * (128 * 1024)}))  # over 128 KB
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    async with websockets.connect(cloud.ws_url, open_timeout=OPEN_S) as ws:
        await ws.send(json.dumps({"action": "echo", "close": True}))  # the function deletes the connection
        await asyncio.wait_for(ws.recv(), 30)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)


def test_management_api_refuses_unsigned_requests(cloud: CloudServer) -> None:
    r = httpx.post(f"{cloud.management_url}/@connections/abc", content=b"x", timeout=10)
    assert r.status_code == 403 and r.headers["x-amzn-errortype"] == "ForbiddenException"


# -- event sources ------------------------------------------------------------------------------------
def test_sqs_batches_partial_failures_and_the_dead_letter_queue(cloud: CloudServer) -> None:
    sqs = cloud.client("sqs")
    urls = sqs.list_queues()["QueueUrls"]
    queue = next(u for u in urls if "JobsQueue" in u)
    dlq = next(u for u in urls if "JobsDeadLetters" in u)
    tag = uuid.uuid4().hex[:8]
    sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "ok1", "MessageBody": json.dumps({"id": f"{tag}-1"})},
        {"Id": "bad", "MessageBody": json.dumps({"id": f"{tag}-2", "fail": True})},
        {"Id": "ok2", "MessageBody": json.dumps({"id": f"{tag}-3"})}])
    assert seen(cloud, f"job:{tag}-1")["receives"] == "1"
    assert seen(cloud, f"job:{tag}-3")["receives"] == "1"  # not redelivered with the failed one

    def dead() -> list[Any]:
        return sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])

    # maxReceiveCount 2, visibility 5 s: received twice, failed twice, then moved to the DLQ.
    letters = wait_until(lambda: [m for m in dead() if tag in m["Body"]])
    assert json.loads(letters[0]["Body"]) == {"id": f"{tag}-2", "fail": True}


def test_a_table_stream_feeds_its_function(cloud: CloudServer) -> None:
    ddb = cloud.client("dynamodb")
    table = next(t for t in ddb.list_tables()["TableNames"] if "ItemsTable" in t)
    key = uuid.uuid4().hex[:8]
    ddb.put_item(TableName=table, Item={"pk": {"S": key}})
    assert seen(cloud, f"stream:{key}")["event"] == "INSERT"


def test_an_item_past_its_ttl_is_deleted_and_its_removal_reaches_the_stream_function(cloud: CloudServer) -> None:
    # DynamoDB's TTL deletes due items (within minutes); moto never does, so ``motia cloud`` sweeps
    # every 5 s, and the REMOVE record reaches the table's stream function as on AWS.
    ddb = cloud.client("dynamodb")
    table = next(t for t in ddb.list_tables()["TableNames"] if "ItemsTable" in t)
    due, later = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    ddb.put_item(TableName=table, Item={"pk": {"S": due}, "expiresAt": {"N": str(int(time.time()) - 1)}})
    ddb.put_item(TableName=table, Item={"pk": {"S": later}, "expiresAt": {"N": str(int(time.time()) + 3600)}})
    wait_until(lambda: seen(cloud, f"stream:{due}")["event"] == "REMOVE", timeout_s=30)
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": due}})
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": later}})


def test_a_schedule_runs_now_on_request(cloud: CloudServer) -> None:
    result = cloud.run_schedule("TickSchedule")
    assert result["result"] == "ok" and result["function"] == "TickFunction"
    assert seen(cloud, "tick") == {"source": "aws.events", "detail_type": "Scheduled Event"}
    assert httpx.post(f"{cloud.control_url}/schedules/Nope", timeout=10).status_code == 404


# -- the command --------------------------------------------------------------------------------------
def test_a_template_that_does_not_parse_names_the_resource_and_field(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "app"
    shutil.copytree(APP, root)
    template = root / "template.yaml"
    template.write_text(template.read_text().replace("Queue: !GetAtt JobsQueue.Arn", "Queue: !GetAtt Nothing.Arn"))
    done = subprocess.run([sys.executable, "-m", "motia_runtime", "cloud", "--root", str(root), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "resource JobsFunction: field Events.Queue.Properties.Queue" in done.stderr


@pytest.mark.parametrize("held", ["--port", "--ws-port"])
def test_a_port_in_use_is_one_line_naming_the_flag_before_anything_starts(tmp_path: Path, held: str) -> None:
    # It was uvicorn's SystemExit traceback, after moto had started and every resource was made.
    import socket
    import subprocess
    import sys

    from tests.support.fake_openai import free_port

    port, ws_port = free_port(), free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port if held == "--port" else ws_port))
        holder.listen()
        done = subprocess.run([sys.executable, "-m", "motia_runtime", "cloud", "--root", str(APP), "--port", str(port),
                               "--ws-port", str(ws_port)], capture_output=True, text=True, timeout=60)
    taken = port if held == "--port" else ws_port
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"motia cloud: cannot listen on 127.0.0.1:{taken}: Address already in use (another server is on it: stop it, "
        f"or pass {held})"]


def test_a_code_change_reloads_the_functions(cloud: CloudServer) -> None:
    assert httpx.get(f"{cloud.http_url}/items/1", timeout=30).json()["version"] == "v1"
    handlers = cloud.root / "functions" / "handlers.py"
    handlers.write_text(handlers.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
    assert wait_until(lambda: httpx.get(f"{cloud.http_url}/items/1", timeout=30).json()["version"] == "v2")
    # The watcher logs the reload right after it recycles the environments, so a request can see
    # v2 a moment before the line is written (seen once under load).
    assert wait_until(lambda: '"type": "reload"' in cloud.logs(), timeout_s=10)
    assert [i for i in cloud.invocations() if i["function"] == "HttpFunction"][-1]["start"] == "cold"


def test_sigterm_stops_it_cleanly(cloud: CloudServer) -> None:
    assert cloud.stop(signal.SIGTERM) == 0
    assert "motia cloud: stopped" in cloud.logs()

"""Who may use ``motia cloud``'s listeners: what a web page the developer opens can do to them.

Any page can send requests to a loopback port (it finds ``motia cloud``'s random ones by probing):
a simple cross-site request (a form POST, ``text/plain``, an ``<img>``) needs no preflight, a
preflighted one needs the server's CORS, and a page on a name that resolves to 127.0.0.1 (DNS
rebinding) is same-origin with itself but sends its own ``Host``. Each request here is sent over
real HTTP with the headers a browser would add (``Origin``, ``Sec-Fetch-Site``, ``Host``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from tests.support.cloud_server import CloudServer

pytestmark = pytest.mark.slow
APP = Path(__file__).parent / "app"
EVIL = "https://evil.example"
APP_ORIGIN = "http://app.example"
OTHER_HTTP = "http://other.example"  # not in the CorsConfiguration's AllowOrigins (https://* is)
SECRET = "sk-not-for-pages"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    root = tmp_path_factory.mktemp("cloud-trust")
    shutil.copytree(APP, root, dirs_exist_ok=True)
    # The HTTP API gets a CorsConfiguration, and a function answers CORS headers of its own.
    with open(root / "template.yaml", "a") as template:
        template.write(f"""
  CorsApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: ["{APP_ORIGIN}", "https://*"]
        AllowMethods: [GET, POST]
        AllowHeaders: [content-type]
  OwnCorsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: functions.handlers.own_cors
      Events:
        Get: {{Type: HttpApi, Properties: {{Method: GET, Path: /own-cors}}}}
  ModulesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: functions.handlers.modules
      Events:
        Get: {{Type: HttpApi, Properties: {{Method: GET, Path: /modules}}}}
""")
    with open(root / "functions" / "handlers.py", "a") as handlers:
        handlers.write("""

def own_cors(event, context):
    return {"statusCode": 200, "headers": {"access-control-allow-origin": "*", "x-kept": "1"}, "body": "{}"}


def modules(event, context):
    import sys
    return sorted(m for m in sys.modules if m.startswith(("motia_runtime.hosts.local", "starlette")))
""")
    # A secret of the app, passed as --secret NAME with its value in the environment (not in `ps`).
    text = (root / "template.yaml").read_text().replace(
        "        APP_SETTING: !Ref Setting\n",
        "        APP_SETTING: !Ref Setting\n        MOTIA_SECRETS: '{\"API_KEY\": \"ssm:/trust/api-key\"}'\n", 1)
    (root / "template.yaml").write_text(text)
    server = CloudServer(root, root / ".logs", args=["--secret", "API_KEY"], env={"API_KEY": SECRET}).start()
    assert SECRET not in (Path("/proc") / str(server.proc.pid) / "cmdline").read_text()  # type: ignore[union-attr]
    yield server
    server.stop()


def _rebound(url: str) -> str:
    """The Host a DNS-rebound page sends: its own name, the port it found."""
    return f"evil.example:{urlsplit(url).port}"


def test_moto_answers_no_other_page(cloud: CloudServer) -> None:
    ssm = cloud.client("ssm")
    # moto's own dump of every backend, secrets included: a simple GET, read through moto's global CORS.
    dump = httpx.get(f"{cloud.moto_url}/moto-api/data.json", headers={"Origin": EVIL}, timeout=10)
    assert dump.status_code == 403 and SECRET not in dump.text
    assert "access-control-allow-origin" not in dump.headers
    # The preflight of a JSON call (SSM, DynamoDB) gets no CORS either, so the call is never sent.
    preflight = httpx.options(f"{cloud.moto_url}/moto-api/data.json", timeout=10, headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-amz-target"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    # SQS's query API takes a form POST, and a GET: an <img> would send events into a queue.
    queue_url = cloud.client("sqs").create_queue(QueueName="trust-probe")["QueueUrl"]
    path = urlsplit(queue_url).path
    form = httpx.post(f"{cloud.moto_url}{path}", data={"Action": "SendMessage", "MessageBody": "from-a-form"},
                      headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}, timeout=10)
    image = httpx.get(f"{cloud.moto_url}{path}", params={"Action": "SendMessage", "MessageBody": "from-an-img"},
                      headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, timeout=10)
    assert (form.status_code, image.status_code) == (403, 403)
    attributes = cloud.client("sqs").get_queue_attributes(QueueUrl=queue_url,
                                                          AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    # DNS rebinding: same-origin for the browser, but the Host is the page's name.
    rebound = httpx.get(f"{cloud.moto_url}/moto-api/data.json", headers={"Host": _rebound(cloud.moto_url)},
                        timeout=10)
    assert rebound.status_code == 403 and SECRET not in rebound.text
    # boto3 (no Origin, no Sec-Fetch-*) and moto's own dashboard page (same origin) still work.
    assert ssm.get_parameter(Name="/trust/api-key", WithDecryption=True)["Parameter"]["Value"] == SECRET
    own = httpx.get(f"{cloud.moto_url}/moto-api/data.json", timeout=10,
                    headers={"Origin": cloud.moto_url, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200 and SECRET in own.text


def test_control_paths_refuse_cross_site_posts_and_rebound_hosts(cloud: CloudServer) -> None:
    before = len(cloud.invocations())
    # A cross-site form / text/plain POST needs no preflight: the schedule would run.
    for headers in ({"Origin": EVIL, "Content-Type": "text/plain"},
                    {"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"},
                    {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}):
        r = httpx.post(f"{cloud.control_url}/schedules/TickSchedule", content=b"x", headers=headers, timeout=30)
        assert r.status_code == 403, (headers, r.text)
        assert "access-control-allow-origin" not in r.headers
    status = httpx.get(f"{cloud.control_url}/status", headers={"Host": _rebound(cloud.control_url)}, timeout=10)
    assert status.status_code == 403 and "functions" not in status.text
    time.sleep(0.5)
    assert [i for i in cloud.invocations()[before:] if i["function"] == "TickFunction"] == []
    # curl and scripts (no Origin) still run it.
    assert cloud.run_schedule("TickSchedule")["result"] == "ok"


def test_the_apis_answer_only_their_own_names(cloud: CloudServer) -> None:
    rebound = httpx.get(f"{cloud.http_url}/items/1", headers={"Host": _rebound(cloud.http_url)}, timeout=30)
    assert rebound.status_code == 403 and rebound.json() == {"message": "Forbidden"}
    for host in ("localhost", "127.0.0.1"):
        port = urlsplit(cloud.http_url).port
        assert httpx.get(f"{cloud.http_url}/items/1", headers={"Host": f"{host}:{port}"}, timeout=30).status_code == 200
    # Another origin's page may call the API (CORS decides what it reads), as on AWS.
    assert httpx.get(f"{cloud.http_url}/items/1", headers={"Origin": EVIL}, timeout=30).status_code == 200


def _handshake(ws_url: str, host: str) -> bytes:
    """A WebSocket opening handshake with this ``Host`` (a rebound page's), on a raw socket: the
    status line and headers the server answers."""
    parts = urlsplit(ws_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=40) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     f"Origin: http://{host}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


async def test_the_websocket_api_refuses_a_rebound_host_before_connect(cloud: CloudServer) -> None:
    before = len(cloud.invocations())
    answer = _handshake(cloud.ws_url, _rebound(cloud.ws_url))
    assert answer.startswith(b"HTTP/1.1 403"), answer
    assert [i for i in cloud.invocations()[before:] if i["function"] == "WsFunction"] == []
    port = urlsplit(cloud.ws_url).port
    assert _handshake(cloud.ws_url, f"localhost:{port}").startswith(b"HTTP/1.1 101")
    # Pages of other origins connect, as to API Gateway (the $connect function may check Origin).
    async with websockets.connect(cloud.ws_url, origin=EVIL, open_timeout=30) as ws:  # type: ignore[arg-type]
        assert ws.protocol.state.name == "OPEN"


def test_with_a_cors_configuration_the_functions_own_cors_headers_are_ignored(cloud: CloudServer) -> None:
    # API Gateway: "If you configure CORS for an API, API Gateway ignores CORS headers returned
    # from your backend integration". A function's "*" must not let every page read it locally.
    other = httpx.get(f"{cloud.http_url}/own-cors", headers={"Origin": OTHER_HTTP}, timeout=30)
    assert other.status_code == 200 and other.headers["x-kept"] == "1"
    assert "access-control-allow-origin" not in other.headers
    own = httpx.get(f"{cloud.http_url}/own-cors", headers={"Origin": APP_ORIGIN}, timeout=30)
    assert own.headers.get_list("access-control-allow-origin") == [APP_ORIGIN]
    preflight = httpx.options(f"{cloud.http_url}/own-cors", timeout=30, headers={
        "Origin": OTHER_HTTP, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    allowed = httpx.options(f"{cloud.http_url}/own-cors", timeout=30, headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "content-type"})
    assert allowed.status_code == 204 and allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    # "https://*" lets in every https origin, as API Gateway reads it.
    any_https = httpx.get(f"{cloud.http_url}/own-cors", headers={"Origin": "https://any.example"}, timeout=30)
    assert any_https.headers.get_list("access-control-allow-origin") == ["https://any.example"]


def test_secret_values_stay_out_of_the_logs(cloud: CloudServer) -> None:
    assert httpx.get(f"{cloud.http_url}/items/1", timeout=30).status_code == 200
    assert SECRET not in cloud.logs()


@pytest.mark.parametrize(("cors", "problem"), [
    ("{AllowCredentials: true, AllowOrigins: ['*']}", "AllowCredentials is not supported with the origin *"),
    ("true", "object form only"),
])
def test_a_cors_configuration_api_gateway_refuses_is_refused_naming_the_field(tmp_path: Path, cors: str,
                                                                                 problem: str) -> None:
    root = tmp_path / "app"
    shutil.copytree(APP, root)
    with open(root / "template.yaml", "a") as template:
        template.write(f"\n  CorsApi:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n"
                       f"      CorsConfiguration: {cors}\n")
    done = subprocess.run([sys.executable, "-m", "motia_runtime", "cloud", "--root", str(root), "--port", "0",
                           "--ws-port", "0", "--no-reload"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "resource CorsApi: field CorsConfiguration" in done.stderr and problem in done.stderr


def test_globals_cors_configuration_applies_to_the_implicit_http_api(tmp_path: Path) -> None:
    # SAM gives Globals.HttpApi to the API it makes for HttpApi events without an ApiId.
    root = tmp_path / "app"
    shutil.copytree(APP, root)
    template = root / "template.yaml"
    template.write_text(template.read_text().replace(
        "Globals:\n", f"Globals:\n  HttpApi:\n    CorsConfiguration: {{AllowOrigins: ['{APP_ORIGIN}'], "
                      f"AllowMethods: [GET]}}\n", 1))
    server = CloudServer(root, root / ".logs").start()
    try:
        preflight = httpx.options(f"{server.http_url}/items/1", timeout=30, headers={
            "Origin": APP_ORIGIN, "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == APP_ORIGIN
        answer = httpx.get(f"{server.http_url}/items/1", headers={"Origin": APP_ORIGIN}, timeout=30)
        assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    finally:
        server.stop()


def test_the_functions_environments_do_not_import_the_local_host(cloud: CloudServer) -> None:
    # Lambda never imports hosts/local (nor Starlette): neither may the workers standing for it,
    # or code that leans on them would pass here and fail on AWS.
    assert httpx.get(f"{cloud.http_url}/modules", timeout=30).json() == []

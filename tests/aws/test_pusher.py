"""ApiGatewayPusher over real loopback HTTP: against the harness's Management API (``FrameRecorder``,
which checks every request's SigV4 signature), and against a bare server answering whatever status
and body a test sets, to pin down how each answer is mapped."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from motia_runtime.adapters.aws import ApiGatewayPusher
from motia_runtime.adapters.aws.pusher import DEFAULT_PUSH_CONCURRENCY
from motia_runtime.errors import ConnectionGoneError, ConnectionThrottledError, FrameTooLargeError, MotiaError
from motia_runtime.hosts.aws.bootstrap import Settings
from motia_runtime.limits import Limits
from motia_runtime.testing import FrameRecorder
from motia_runtime.testing.websocket import env_credentials, sigv4_problem


@pytest.fixture
def recorder(aws: None) -> Iterator[FrameRecorder]:
    with FrameRecorder("prod") as recorder:
        yield recorder


def test_frames_reach_an_open_connection_one_post_each(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    pusher = ApiGatewayPusher(recorder.endpoint)
    pusher.post("conn-a", '{"n":1}')
    pusher.post("conn-a", b'{"n":2}')
    assert recorder.frames("conn-a") == [{"n": 1}, {"n": 2}]
    assert recorder.rejected == []  # both signatures verified


def test_a_gone_connection_raises_connection_gone(recorder: FrameRecorder) -> None:
    recorder.open("Bq2H7dZ1oAMCJmw=")  # real ids end in "=", which travels as %3D
    pusher = ApiGatewayPusher(recorder.endpoint)
    with pytest.raises(ConnectionGoneError, match="never-connected"):
        pusher.post("never-connected", "{}")
    pusher.post("Bq2H7dZ1oAMCJmw=", "{}")
    recorder.close("Bq2H7dZ1oAMCJmw=")  # the client vanished: API Gateway now answers 410
    with pytest.raises(ConnectionGoneError) as info:
        pusher.post("Bq2H7dZ1oAMCJmw=", "{}")
    assert isinstance(info.value, MotiaError)
    assert info.value.__cause__.status == 410  # type: ignore[union-attr]
    assert recorder.frames("Bq2H7dZ1oAMCJmw=") == [{}] and recorder.rejected == []


def test_close_deletes_the_connection_and_a_gone_one_is_not_an_error(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    pusher = ApiGatewayPusher(recorder.endpoint)
    pusher.close("conn-a")  # boto3's DeleteConnection, on the same endpoint
    assert "conn-a" not in recorder.open_ids
    pusher.close("conn-a")  # closing a gone connection is not an error
    with pytest.raises(ConnectionGoneError):
        pusher.post("conn-a", "{}")


def test_throttling_is_retried_with_backoff_then_reported(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    slept: list[float] = []
    pusher = ApiGatewayPusher(recorder.endpoint, throttle_retries=3, throttle_base_s=0.01, sleep=slept.append)
    recorder.fail("conn-a", 429, times=2)
    pusher.post("conn-a", '{"n":1}')  # two 429s, then through: nothing lost, nothing doubled
    assert recorder.frames("conn-a") == [{"n": 1}] and recorder.attempts["conn-a"] == 3
    # Backed off between attempts, each delay at least half of base * 2**attempt, jittered above.
    assert len(slept) == 2 and 0.005 <= slept[0] <= 0.01 <= slept[1] <= 0.02
    recorder.fail("conn-a", 429, times=10)
    with pytest.raises(ConnectionThrottledError, match="throttled \\(429\\) 4 times"):
        pusher.post("conn-a", '{"n":2}')
    assert recorder.attempts["conn-a"] == 3 + 4  # no other retries: ours are the only ones


def test_a_frame_too_large_is_not_retried(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    slept: list[float] = []
    pusher = ApiGatewayPusher(recorder.endpoint, sleep=slept.append)
    recorder.fail("conn-a", 413)
    with pytest.raises(FrameTooLargeError, match="413"):
        pusher.post("conn-a", "{}")
    assert recorder.attempts["conn-a"] == 1 and slept == []
    # Over API Gateway's 128 KB the pusher does not even try.
    with pytest.raises(FrameTooLargeError, match="131072-byte"):
        pusher.post("conn-a", "x" * (128 * 1024 + 1))
    assert recorder.attempts["conn-a"] == 1


def test_a_bad_signature_is_refused(recorder: FrameRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder.open("conn-a")
    pusher = ApiGatewayPusher(recorder.endpoint)
    pusher.post("conn-a", "{}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another secret")  # what the recorder checks against
    with pytest.raises(MotiaError, match="403 ForbiddenException: signature does not match"):
        pusher.post("conn-a", '{"n":2}')
    assert recorder.frames("conn-a") == [{}] and len(recorder.rejected) == 1


# -- status mapping and signing, against a server that answers what the test says ---------------
class Canned:
    """A loopback server that records each request and answers the next canned (status, headers, body)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        canned = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with canned._lock:
                    canned.requests.append({"method": self.command, "path": self.path, "body": body,
                                            "headers": dict(self.headers.items()), "at": time.time()})
                    status, headers, reply = canned.answers.pop(0) if canned.answers else (200, {}, b"")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def endpoint(self, stage: str = "prod") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{stage}"

    def answer(self, status: int, error_type: str | None = None, body: Any = None) -> None:
        headers = {"x-amzn-ErrorType": error_type} if error_type else {}
        raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        self.answers.append((status, headers, raw))


@pytest.fixture
def canned(aws: None) -> Iterator[Canned]:
    server = Canned()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _pusher(canned: Canned, **kwargs: Any) -> tuple[ApiGatewayPusher, list[float]]:
    slept: list[float] = []
    return ApiGatewayPusher(canned.endpoint(), sleep=slept.append, **kwargs), slept


@pytest.mark.parametrize("status", [200, 204])
def test_2xx_is_delivered(canned: Canned, status: int) -> None:
    pusher, slept = _pusher(canned)
    canned.answer(status)
    pusher.post("c", "{}")
    assert len(canned.requests) == 1 and slept == []


@pytest.mark.parametrize(("status", "error_type", "body", "raised"), [
    (410, "GoneException", {"message": "gone"}, ConnectionGoneError),
    (410, None, None, ConnectionGoneError),  # the status alone is enough
    (400, None, {"__type": "com.amazonaws#GoneException", "message": "x"}, ConnectionGoneError),
    (413, "PayloadTooLargeException", {"message": "too big"}, FrameTooLargeError),
    (413, None, b"", FrameTooLargeError),
])
def test_gone_and_too_large_are_told_apart_and_not_retried(canned: Canned, status: int, error_type: str | None,
                                                            body: Any, raised: type[Exception]) -> None:
    pusher, slept = _pusher(canned)
    canned.answer(status, error_type, body)
    with pytest.raises(raised):
        pusher.post("c", "{}")
    assert len(canned.requests) == 1 and slept == []


@pytest.mark.parametrize(("status", "error_type", "body"), [
    (429, "LimitExceededException", {"message": "slow down"}),
    (429, None, None),
    (400, "ThrottlingException:http://internal.amazon.com/", {"message": "Rate exceeded"}),
    (400, None, {"__type": "TooManyRequestsException", "message": "Rate exceeded"}),
])
def test_throttling_by_status_or_error_code_is_retried(canned: Canned, status: int, error_type: str | None,
                                                       body: Any) -> None:
    pusher, slept = _pusher(canned, throttle_retries=2, throttle_base_s=0.01)
    canned.answer(status, error_type, body)
    pusher.post("c", '{"n":1}')  # retried once, then the default 200
    assert len(canned.requests) == 2 and len(slept) == 1
    for _ in range(3):
        canned.answer(status, error_type, body)
    with pytest.raises(ConnectionThrottledError, match="3 times"):
        pusher.post("c", '{"n":2}')
    assert len(canned.requests) == 2 + 3 and len(slept) == 1 + 2


@pytest.mark.parametrize(("status", "error_type", "body", "message"), [
    (403, "ForbiddenException", {"message": "Forbidden"}, "403 ForbiddenException: Forbidden"),
    (500, None, {"message": "Internal server error"}, "500 error: Internal server error"),
    (502, None, b"<html>Bad Gateway</html>", "502 error: <html>Bad Gateway</html>"),
])
def test_any_other_answer_is_a_motia_error_with_status_and_body(canned: Canned, status: int,
                                                                error_type: str | None, body: Any,
                                                                message: str) -> None:
    pusher, slept = _pusher(canned)
    canned.answer(status, error_type, body)
    with pytest.raises(MotiaError, match=f"posting to connection c failed: {message}") as info:
        pusher.post("c", "{}")
    assert type(info.value) is MotiaError and len(canned.requests) == 1 and slept == []


def test_an_endpoint_that_refuses_connections_is_a_motia_error(aws: None) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    with pytest.raises(MotiaError, match="posting to connection c failed: ConnectionRefusedError"):
        ApiGatewayPusher(f"http://127.0.0.1:{port}/prod").post("c", "{}")


def test_the_request_is_a_valid_sigv4_post_to_connection(canned: Canned) -> None:
    pusher, _ = _pusher(canned)
    pusher.post("Bq2H7dZ1oAMCJmw=", '{"hello":"world"}')
    credentials = env_credentials()  # moto's (mock_aws sets its own keys), as the pusher's session has them
    assert credentials is not None
    request = canned.requests[0]
    headers, url = request["headers"], f"http://{request['headers']['Host']}{request['path']}"
    assert request["method"] == "POST" and request["path"] == "/prod/@connections/Bq2H7dZ1oAMCJmw%3D"
    assert request["body"] == b'{"hello":"world"}'
    assert headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/")
    assert "/us-east-1/execute-api/aws4_request, SignedHeaders=" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == credentials.token
    # botocore re-signs the same request (same X-Amz-Date) and gets the same signature ...
    assert sigv4_problem("POST", url, headers, request["body"], credentials, "us-east-1",
                         now=request["at"]) is None
    # ... and not for anything else: another body, path, secret, region or service, or too late.
    assert sigv4_problem("POST", url, headers, b'{"hello":"there"}', credentials, "us-east-1") \
        == "signature does not match"
    assert sigv4_problem("POST", url.replace("%3D", "X"), headers, request["body"], credentials, "us-east-1") \
        == "signature does not match"
    assert sigv4_problem("POST", url, headers, request["body"], credentials._replace(secret_key="x"),
                         "us-east-1") == "signature does not match"
    assert "credential scope" in str(sigv4_problem("POST", url, headers, request["body"], credentials, "eu-west-1"))
    assert "credential scope" in str(sigv4_problem("POST", url, headers, request["body"], credentials, "us-east-1",
                                                   service="apigateway"))
    assert "expired" in str(sigv4_problem("POST", url, headers, request["body"], credentials, "us-east-1",
                                          now=request["at"] + 301))


def test_the_region_comes_from_the_endpoint_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from motia_runtime.adapters.aws.pusher import _region_for

    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert _region_for("abc123.execute-api.eu-west-3.amazonaws.com") == "eu-west-3"
    assert _region_for("abc123.execute-api.cn-north-1.amazonaws.com.cn") == "cn-north-1"
    assert _region_for("ws.example.com") == "ap-south-1"  # a custom domain: the function's region


def test_concurrency_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTIA_PUSH_CONCURRENCY", raising=False)
    assert Settings.from_env().limits.push_concurrency == DEFAULT_PUSH_CONCURRENCY == ApiGatewayPusher("x").pool_size
    monkeypatch.setenv("MOTIA_PUSH_CONCURRENCY", "8")
    assert Settings.from_env().limits.push_concurrency == 8  # read with the function's other settings
    for bad in ("0", "-3", "many"):
        with pytest.raises(MotiaError, match="MOTIA_PUSH_CONCURRENCY"):
            Limits.from_env({"MOTIA_PUSH_CONCURRENCY": bad})


def test_many_threads_share_one_pool(recorder: FrameRecorder) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ids = [f"c{i}=" for i in range(64)]
    for connection_id in ids:
        recorder.open(connection_id)
    pusher = ApiGatewayPusher(recorder.endpoint, pool_size=16)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda c: [pusher.post(c, json.dumps({"n": n})) for n in range(3)], ids))
    assert all(recorder.frames(c) == [{"n": 0}, {"n": 1}, {"n": 2}] for c in ids) and recorder.rejected == []


def _self_signed(directory: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_https_is_verified_against_the_ca_bundle(canned: Canned, tmp_path: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    canned.server.socket = context.wrap_socket(canned.server.socket, server_side=True)
    endpoint = canned.endpoint().replace("http://", "https://")
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)  # the default bundle does not know our certificate
    with pytest.raises(MotiaError, match="SSLCertVerificationError"):
        ApiGatewayPusher(endpoint).post("c", "{}")
    monkeypatch.setenv("AWS_CA_BUNDLE", cert)
    ApiGatewayPusher(endpoint).post("c", '{"over":"tls"}')
    assert [r["body"] for r in canned.requests] == [b'{"over":"tls"}']
    assert canned.requests[0]["headers"]["Host"] == canned.endpoint().split("/")[2]  # signed as it was sent


def test_the_recorder_speaks_the_management_api(recorder: FrameRecorder) -> None:
    import boto3
    from botocore.exceptions import ClientError

    api = boto3.client("apigatewaymanagementapi", endpoint_url=recorder.endpoint)
    recorder.open("conn-a")
    assert api.get_connection(ConnectionId="conn-a")["Identity"]["SourceIp"] == "127.0.0.1"
    api.post_to_connection(ConnectionId="conn-a", Data=b'{"via":"boto3"}')  # boto3's own request verifies too
    assert recorder.frames("conn-a") == [{"via": "boto3"}]
    api.delete_connection(ConnectionId="conn-a")
    with pytest.raises(ClientError) as gone:
        api.get_connection(ConnectionId="conn-a")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    other_stage = boto3.client("apigatewaymanagementapi", endpoint_url=recorder.endpoint.replace("/prod", "/dev"))
    with pytest.raises(ClientError) as forbidden:
        other_stage.post_to_connection(ConnectionId="conn-a", Data=b"{}")
    assert forbidden.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert recorder.rejected == []  # refused for the path, not the signature

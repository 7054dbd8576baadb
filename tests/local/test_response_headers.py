"""Headers an API step returns, over real HTTP: what HTTP/1.1 cannot carry (a CR or LF, which
would split the header: header injection; characters outside latin-1; a name that is not a
token; a value that is not text) is a JSON 500 naming the step and the header, logged as the
step's failure, never sent; a number is sent as text, as the AWS host sends it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project

FILES = {
    "functions/headers_step.py": '''
config = {"type": "api", "name": "EchoHeader", "path": "/echo-header", "method": "POST"}


async def handler(req, ctx):
    body = req["body"]
    return {"status": 200, "body": {"ok": True}, "headers": {body["name"]: body["value"]}}
''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_project(tmp_path_factory.mktemp("headers-project"), FILES)
    dev = InProcessServer(root, tmp_path_factory.mktemp("headers-data")).start()
    yield dev
    dev.stop()


@pytest.mark.parametrize("origin", [None, "http://localhost:5173"], ids=["short-way", "full-stack"])
@pytest.mark.parametrize(("name", "value", "problem"), [
    ("x-next", "/home\r\nSet-Cookie: session=evil", "one line"),  # what a client put in a value
    ("x-pet", "Rex 🐾", "latin-1"),
    ("x bad", "v", "header name"),
    ("x-list", ["a", "b"], "string or a number"),
])
def test_a_header_http_cannot_carry_is_a_500_naming_the_step_and_header(
        server: InProcessServer, origin: str | None, name: str, value: object, problem: str) -> None:
    headers = {"origin": origin} if origin else {}
    response = httpx.post(f"{server.url}/echo-header", json={"name": name, "value": value}, headers=headers, timeout=10)
    assert response.status_code == 500, response.text
    assert "set-cookie" not in response.headers
    body = response.json()
    assert "EchoHeader" in body["error"], body
    assert body["errors"][0]["field"] == f"headers.{name}" and problem in body["errors"][0]["message"], body
    assert f"headers.{name}" in server.logs()
    assert "Exception in ASGI application" not in server.logs()


def test_a_number_is_sent_as_text_as_on_aws(server: InProcessServer) -> None:
    response = httpx.post(f"{server.url}/echo-header", json={"name": "x-count", "value": 5}, timeout=10)
    assert response.status_code == 200 and response.headers["x-count"] == "5"
    fine = httpx.post(f"{server.url}/echo-header", json={"name": "x-pet", "value": "Café\tnoir"}, timeout=10)
    assert fine.status_code == 200 and fine.headers["x-pet"] == "Café\tnoir"  # sent in latin-1, read so

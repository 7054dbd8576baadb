"""A hostile web page in headless Chromium against ``motia cloud``'s loopback ports: what the
browser itself sends (Origin, Sec-Fetch-Site, preflights), not headers a test made up.

The page is served from an origin of its own (``http://localhost:<port>``; the cloud listens on
``127.0.0.1``), knows the ports (a page finds them by probing) and tries to read the secrets in
moto, send a message into a queue with an ``<img>``, and run a schedule with a ``text/plain`` POST.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.cloud.test_cloud_trust import SECRET, cloud  # noqa: F401 (the fixture)
from tests.support.cloud_server import CloudServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hostile_origin() -> Iterator[str]:
    class Blank(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>elsewhere</title>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_of_another_origin_reads_and_changes_nothing(cloud: CloudServer,  # noqa: F811
                                                            hostile_origin: str, page: Any) -> None:
    queue_url = cloud.client("sqs").create_queue(QueueName="page-probe")["QueueUrl"]
    queue_path = urlsplit(queue_url).path
    before = len([i for i in cloud.invocations() if i["function"] == "TickFunction"])
    page.goto(f"{hostile_origin}/")
    outcome = page.evaluate("""async ([moto, control, queuePath]) => {
        const read = async (url, init) => {
            try { return await (await fetch(url, init)).text(); } catch (e) { return "blocked: " + e; }
        };
        const dump = await read(moto + "/moto-api/data.json");
        const ssm = await read(moto + "/", {method: "POST", headers: {
            "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter",
            "authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/ssm/aws4_request, " +
                             "SignedHeaders=host, Signature=x"},
            body: JSON.stringify({Name: "/trust/api-key", WithDecryption: true})});
        await fetch(control + "/schedules/TickSchedule", {method: "POST", mode: "no-cors", body: "x"})
            .catch(() => null);
        await new Promise(done => {
            const img = new Image();
            img.onload = img.onerror = done;
            img.src = moto + queuePath + "?Action=SendMessage&MessageBody=from-an-img";
        });
        return {dump, ssm};
    }""", [cloud.moto_url, cloud.control_url, queue_path])
    assert SECRET not in outcome["dump"] and outcome["dump"].startswith("blocked")
    assert SECRET not in outcome["ssm"] and outcome["ssm"].startswith("blocked")
    time.sleep(1)
    attributes = cloud.client("sqs").get_queue_attributes(QueueUrl=queue_url,
                                                          AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert len([i for i in cloud.invocations() if i["function"] == "TickFunction"]) == before

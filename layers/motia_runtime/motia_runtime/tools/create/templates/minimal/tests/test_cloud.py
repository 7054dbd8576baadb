"""The app as it runs on AWS, without AWS: CloudSim drives the real Lambda entry points on moto."""

from pathlib import Path

from motia_runtime.testing import CloudSim

ROOT = Path(__file__).resolve().parents[1]


def test_hello_on_simulated_aws() -> None:
    with CloudSim(ROOT) as cloud:
        response = cloud.http("POST", "/hello", json={"name": "Ada"})  # API Gateway -> Lambda
        assert response.status_code == 200, response.text
        item = response.json()
        ws = cloud.connect()  # a WebSocket client of API Gateway
        ws.join("greetings", item["__motia"]["groupId"], "greeting")
        cloud.run_until_idle()  # EventBridge -> SQS -> Lambda, DynamoDB stream -> fan-out
        assert ws.frames[-1]["event"]["data"] == {**ws.frames[-1]["event"]["data"], "message": "Hello, Ada!",
                                                  "done": True}
        assert cloud.http("GET", f"/hello/{item['__motia']['groupId']}").json()["message"] == "Hello, Ada!"

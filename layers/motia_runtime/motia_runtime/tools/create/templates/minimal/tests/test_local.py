"""The app on the local host, the one `make dev` serves, run in this process."""

import time
from pathlib import Path

from starlette.testclient import TestClient

from motia_runtime.hosts.local.app import create_app
from motia_runtime.hosts.local.settings import DevSettings

ROOT = Path(__file__).resolve().parents[1]


def test_hello_streams_the_greeting(tmp_path: Path) -> None:
    app = create_app(DevSettings(root=ROOT, data_dir=tmp_path))  # its SQLite in a fresh folder
    with TestClient(app, base_url="http://127.0.0.1:3000") as client:
        response = client.post("/hello", json={"name": "Ada"})
        assert response.status_code == 200, response.text
        group = response.json()["__motia"]["groupId"]
        deadline = time.monotonic() + 10
        while True:  # the event step runs after the response: poll the item it fills in
            item = client.get(f"/hello/{group}").json()
            if item["done"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert item["message"] == "Hello, Ada!"
        assert client.post("/hello", json={"name": ""}).status_code == 400  # the body schema

"""The three hosts the parity suite drives the same way: ``motia dev``, ``CloudSim`` and
``motia cloud``. Each offers ``http()``, ``connect()`` (a WebSocket connection whose frames are
recorded) and ``settle(check)`` (wait until ``check()`` holds: live hosts poll, CloudSim runs its
queues and streams until idle between checks)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx


class Connection:
    """What every host's connection offers: ``join``/``leave``, ``frames``, ``close``."""

    frames: list[dict[str, Any]]

    def send(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def join(self, stream: str, group: str, id: str | None = None, since: int | None = None) -> str:
        sub = str(uuid.uuid4())
        data: dict[str, Any] = {"streamName": stream, "groupId": group, "subscriptionId": sub}
        if id is not None:
            data["id"] = id
        if since is not None:
            data["since"] = since
        self.send({"type": "join", "data": data})
        return sub

    def close(self) -> None:
        raise NotImplementedError


class LiveConnection(Connection):
    def __init__(self, url: str, token: str | None) -> None:
        from websockets.sync.client import connect

        protocols = ["Authorization", token] if token else None
        self._opened = connect(url, subprotocols=protocols, open_timeout=60)  # type: ignore[arg-type]
        self.socket = self._opened.__enter__()
        self.frames = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                self.frames.append(json.loads(self.socket.recv()))
        except ConnectionClosed:
            return

    def send(self, message: dict[str, Any]) -> None:
        self.socket.send(json.dumps(message))

    def close(self) -> None:
        self._opened.__exit__(None, None, None)
        self._reader.join(timeout=10)


class LiveHost:
    def __init__(self, name: str, http_url: str, ws_url: str) -> None:
        self.name, self.http_url, self.ws_url = name, http_url, ws_url

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = httpx.request(method, f"{self.http_url}{path}", json=body, timeout=60)
        return response.status_code, response.json()

    def connect(self, token: str | None = None) -> Connection:
        return LiveConnection(self.ws_url, token)

    def settle(self, check: Callable[[], bool], timeout_s: float = 60) -> None:
        deadline = time.time() + timeout_s
        while not check():
            if time.time() > deadline:
                raise AssertionError(f"{self.name}: not settled within {timeout_s}s")
            time.sleep(0.05)


class SimConnection(Connection):
    def __init__(self, client: Any) -> None:
        self.client = client

    @property  # type: ignore[override]
    def frames(self) -> list[dict[str, Any]]:
        return list(self.client.frames)

    def send(self, message: dict[str, Any]) -> None:
        self.client.send_raw(json.dumps(message))

    def close(self) -> None:
        self.client.disconnect()


class SimHost:
    name = "CloudSim"

    def dead_letters(self, step: str) -> list[Any]:
        return list(self.sim.dead_letters(step))

    def redrive(self, step: str) -> int:
        resources = self.sim.resources
        return sqs_redrive(self.sim.client("sqs"), resources.dlqs[step].url, resources.queues[step].url)

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.sim.http(method, path, json=body)
        return response.status, response.json()

    def connect(self, token: str | None = None) -> Connection:
        return SimConnection(self.sim.connect(token))

    def settle(self, check: Callable[[], bool], timeout_s: float = 60) -> None:
        deadline = time.time() + timeout_s
        while True:
            self.sim.run_until_idle()
            if check():
                return
            if time.time() > deadline:
                raise AssertionError(f"CloudSim: not settled within {timeout_s}s")
            time.sleep(0.05)


def refused_status(host: Any, token: str) -> int | None:
    """The HTTP status a host refuses a handshake with (None: accepted)."""
    if isinstance(host, SimHost):
        client = host.sim.connect(token)
        return None if client.accepted else int(client.status_code)
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    try:
        with connect(host.ws_url, subprotocols=["Authorization", token], open_timeout=60):  # type: ignore[list-item]
            return None
    except InvalidStatus as exc:
        return int(exc.response.status_code)


def sqs_redrive(sqs: Any, dlq_url: str, queue_url: str) -> int:
    """Move every message of a DLQ back to its queue, as SQS's DLQ redrive (StartMessageMoveTask,
    which moto lacks) does: the same body, sent again."""
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


class DevHost(LiveHost):
    def dead_letters(self, step: str) -> list[Any]:
        response = httpx.get(f"{self.http_url}/__motia/queues/dead-letters", params={"step": step}, timeout=30)
        return list(response.json()["deadLetters"])

    def redrive(self, step: str) -> int:
        letters = self.dead_letters(step)
        for letter in letters:
            httpx.post(f"{self.http_url}/__motia/queues/dead-letters/{letter['id']}/retry", timeout=30
                       ).raise_for_status()
        return len(letters)


class CloudHost(LiveHost):
    def __init__(self, name: str, http_url: str, ws_url: str, sqs: Any) -> None:
        super().__init__(name, http_url, ws_url)
        self.sqs = sqs

    def _queue(self, logical_id: str) -> str:
        return next(u for u in self.sqs.list_queues()["QueueUrls"] if u.endswith(f"-{logical_id}"))

    def dead_letters(self, step: str) -> list[Any]:
        dlq = self._queue(f"{step}DeadLetterQueue")
        return list(self.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                             WaitTimeSeconds=0).get("Messages", []))

    def redrive(self, step: str) -> int:
        return sqs_redrive(self.sqs, self._queue(f"{step}DeadLetterQueue"), self._queue(f"{step}Queue"))


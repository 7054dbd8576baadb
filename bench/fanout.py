"""The AWS fan-out, simulated: DynamoDB stream records of real ``set()`` writes pushed to 1,000 WebSocket
subscribers by the real fan-out entry point (``motia_runtime.hosts.aws.fanout.handler``), with every
post to a connection taking 20 ms.

- The writes: the bench app's runtime on moto (``motia_runtime.testing.CloudSim``, tables from the
  app's SAM template) does ``set()`` through the real ``DynamoDBStreamStore``; the records are read
  from the table's stream as Lambda's event source mapping would (``testing.pump.StreamPump``).
  DynamoDB calls per ``set()`` are counted there (writes, reads).
- The fan-out: the entry point runs with real boto3 clients pointed (``AWS_ENDPOINT_URL_DYNAMODB``,
  ``MOTIA_WS_ENDPOINT``) at a small AWS stand-in in another process that answers the Management API's
  ``PostToConnection`` after ``--latency-ms`` and DynamoDB's ``Query`` on the ``byRoomShard`` index (and the
  retry ledger's ``GetItem``) after ``--dynamodb-latency-ms``, from the subscriptions it was given.
  moto is not used here: its index queries cost ~7 ms of CPU each in this process, which would be the
  simulator's time, not the fan-out's. DynamoDB calls per batch are counted with a botocore
  ``before-call.dynamodb`` hook on the session every client is made from.

Shapes (``--shape``): ``spread`` (the headline): each record is one ``set()`` in its own group, and
each group has subscribers/records subscribers (100 records, 1,000 subscribers: 10 per group, 1,000
posts per batch); ``chains``: 20 groups of 5 updates each (the pet chain) and 50 subscribers per group
(5,000 posts; each connection's frames are posted in order, so a batch takes at least 5 posts' time).

Usage: python bench/fanout.py [--records 100] [--subscribers 1000] [--latency-ms 20] [--batches 3]
                              [--shape spread|chains] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "bench" / "app"
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


# -- the AWS stand-in (runs in its own process) --------------------------------------------------
def serve(port: int, post_latency_ms: float, dynamodb_latency_ms: float) -> None:
    lock = threading.Lock()
    stats: Counter[str] = Counter()
    state: dict[str, Any] = {"rooms": {}, "pk": "pk", "in_flight": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoints
        # A reply's head and body are two writes: with Nagle on, the body waited for the client's
        # delayed ACK, so each DynamoDB answer took ~45 ms instead of the simulated 5 ms.
        disable_nagle_algorithm = True

        def log_message(self, *_: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with lock:
                stats["connections_opened"] += 1

        def _reply(self, body: bytes = b"", ctype: str = "application/x-amz-json-1.0") -> None:
            self.send_response(200)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            target = self.headers.get("x-amz-target", "")
            if self.path == "/__setup":
                setup = json.loads(body)
                state["rooms"], state["pk"] = setup["rooms"], setup["pk"]
                return self._reply(b"{}")
            if "@connections" in self.path:
                with lock:
                    stats["posts"] += 1
                    state["in_flight"] += 1
                    stats["max_in_flight"] = max(stats["max_in_flight"], state["in_flight"])
                time.sleep(post_latency_ms / 1000)
                with lock:
                    state["in_flight"] -= 1
                return self._reply(b"", "application/json")
            operation = target.rpartition(".")[2]
            with lock:
                stats[f"dynamodb.{operation}"] += 1
            time.sleep(dynamodb_latency_ms / 1000)
            if operation == "Query":
                # A small room: every subscriber in shard 0 of the byRoomShard index, no counter row.
                request = json.loads(body)
                room = request["ExpressionAttributeValues"][":rs"]["S"].removesuffix("#0")
                items = [{state["pk"]: {"S": c}, "sk": {"S": f"sub#{c}"}} for c in state["rooms"].get(room, [])]
                return self._reply(json.dumps({"Items": items, "Count": len(items)}).encode())
            return self._reply(b"{}")  # GetItem of a ledger that does not exist; anything else: OK

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(stats).encode()
                if self.path.endswith("reset"):
                    stats.clear()
            self._reply(body, "application/json")

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        # The listen() backlog, read when the server is made (set on the instance afterwards, it left
        # the default of 5, and a fan-out opening dozens of connections at once saw resets).
        request_queue_size = 1024

    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(port: int, path: str, data: Any = None) -> dict[str, Any]:
    body = None if data is None else json.dumps(data).encode()
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)) as r:
        return json.loads(r.read() or b"{}")  # type: ignore[no-any-return]


# -- the scenario --------------------------------------------------------------------------------
class CallCounter:
    """Counts DynamoDB operations made by clients of a session (a botocore event hook)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        with self._lock:
            out, self.calls = self.calls, Counter()
        return out


def run(records: int, subscribers: int, latency_ms: float, dynamodb_latency_ms: float, batches: int,
        shape: str) -> dict[str, Any]:
    import boto3

    from motia_runtime.adapters.aws import keys as k
    from motia_runtime.hosts.aws import bootstrap, fanout
    from motia_runtime.testing import CloudSim
    from motia_runtime.testing.pump import StreamPump
    from motia_runtime.testing.support import LambdaContext

    groups, updates_per_group = (records, 1) if shape == "spread" else (max(records // 5, 1), 5)
    port = _free_port()
    stand_in = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(latency_ms),
                                 str(dynamodb_latency_ms)], stdout=subprocess.PIPE, text=True)
    try:
        assert stand_in.stdout is not None and stand_in.stdout.readline().strip() == "ready"
        rooms: dict[str, list[str]] = {}
        for i in range(subscribers):
            group = f"G{i % groups:04d}"
            rooms.setdefault(k.room("petCreation", group, None), []).append(f"conn-{i:05d}=")
        _call(port, "/__setup", {"rooms": rooms, "pk": k.PK})

        with CloudSim(APP) as sim:
            counter = CallCounter()
            boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", counter)

            async def one_set(rt: Any, group: str, seq: int) -> None:
                await rt.streams["petCreation"].set(group, "message", {
                    "message": f"update {seq}", "stage": "x", "progress": seq, "sentAt": time.time() * 1000,
                    "seq": seq})

            per_set: list[Counter[str]] = []

            def write_batch(batch_no: int) -> None:
                for u in range(updates_per_group):
                    for g in range(groups):
                        sim.run(lambda rt, g=g, u=u: one_set(rt, f"G{g:04d}", batch_no * 10 + u))
                        per_set.append(counter.take())

            env = {"AWS_LAMBDA_FUNCTION_NAME": "bench-fanout", "MOTIA_CONNECTIONS_TABLE": "connections",
                   "MOTIA_WS_ENDPOINT": f"http://127.0.0.1:{port}/bench", "POWERTOOLS_SERVICE_NAME": "bench",
                   "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{port}", "LOG_LEVEL": "warning"}
            results: list[dict[str, Any]] = []

            def invoke(event: dict[str, Any]) -> dict[str, Any]:
                saved = {name: os.environ.get(name) for name in env}
                os.environ.update(env)
                try:
                    counter.take()
                    _call(port, "/stats/reset")
                    cpu = time.process_time()
                    t = time.perf_counter()
                    out: dict[str, Any] = fanout.handler(event, LambdaContext("bench-fanout"))
                    elapsed = (time.perf_counter() - t) * 1000
                    cpu = (time.process_time() - cpu) * 1000
                finally:
                    for name, value in saved.items():
                        if value is None:
                            os.environ.pop(name, None)
                        else:
                            os.environ[name] = value
                calls = counter.take()
                stats = _call(port, "/stats")
                changes = len(fanout.read_records(event["Records"], bootstrap.logger()))
                results.append({"ms": round(elapsed, 1), "cpu_ms": round(cpu, 1), "records": len(event["Records"]),
                                "changes": changes,
                                "posts": stats.get("posts", 0), "max_concurrent_posts": stats.get("max_in_flight", 0),
                                "connections_opened": stats.get("connections_opened", 0),
                                "dynamodb_calls": dict(calls), "failed": len(out["batchItemFailures"])})
                print(f"  fan-out batch: {results[-1]}", file=sys.stderr)
                return out

            pump = StreamPump(sim.client("dynamodbstreams"), list(sim.resources.stream_arns.values()), invoke,
                              batch_size=10_000)
            pump.read()  # nothing before the measured writes
            for b in range(batches):
                write_batch(b)
                pump.pump()
        warm = results[1:] or results
        return {
            "shape": shape, "records_per_batch_changes": groups * updates_per_group, "subscribers": subscribers,
            "groups": groups, "subscribers_per_group": subscribers // groups, "latency_ms_per_post": latency_ms,
            "dynamodb_latency_ms": dynamodb_latency_ms,
            "fanout_max_workers": bootstrap.settings().limits.push_concurrency,
            "batches": results, "cold_batch_ms": results[0]["ms"],
            "warm_batch_ms_median": statistics.median(r["ms"] for r in warm),
            "rooms_per_batch": groups * 2,  # a change reaches its group's room and its item's room
            "subscriber_queries_per_batch": [r["dynamodb_calls"].get("Query", 0) for r in results],
            "set_calls": {"sets": len(per_set),
                          "writes_per_set": sorted({sum(v for op, v in c.items() if op in WRITES) for c in per_set}),
                          "reads_per_set": sorted({sum(v for op, v in c.items() if op in READS) for c in per_set}),
                          "operations": dict(sum(per_set, Counter()))},
            "floor_ms": latency_ms * updates_per_group,
        }
    finally:
        stand_in.terminate()
        stand_in.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--dynamodb-latency-ms", type=float, default=5)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--shape", choices=["spread", "chains"], default="spread")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "POST_MS", "DYNAMODB_MS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), float(args.serve[1]), float(args.serve[2]))
        return 0
    result = run(args.records, args.subscribers, args.latency_ms, args.dynamodb_latency_ms, args.batches, args.shape)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The AWS stand-in of ``bench/fanout_scale.py``, in a process of its own: DynamoDB (the ``byRoomShard``
index's queries from the rows it was given, the ledgers' GetItem/PutItem, the room counters' UpdateItem),
SQS ``SendMessageBatch`` (kept for the scenario to fetch) and the Management API's ``PostToConnection``,
each answered after its latency, every call counted, and the bytes each DynamoDB call reads or writes per
partition key turned into read and write units as DynamoDB bills them.

Control endpoints (the scenario's): ``POST /__load`` (rows, ``replace``, latencies), ``GET /__stats``,
``GET /__reset`` (counts), ``GET /__queue`` (the messages sent since, taken), ``GET /__posts``.

Usage: python bench/scale_standin.py PORT POST_MS DYNAMODB_MS  (prints "ready" once listening)
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings and numbers as their text)."""
    return sum(len(name) + len(str(next(iter(value.values()))).encode()) for name, value in item.items())


def serve(port: int, post_ms: float, ddb_ms: float) -> None:
    lock = threading.Lock()
    stats: Counter[str] = Counter()
    reads: Counter[str] = Counter()  # partition key → read units
    writes: Counter[str] = Counter()  # partition key → write units
    shards: dict[str, list[dict[str, Any]]] = defaultdict(list)  # roomShard → index items, sorted by sk
    table: dict[tuple[str, str], dict[str, Any]] = {}
    queue: list[dict[str, Any]] = []
    posts: dict[str, list[str]] = defaultdict(list)
    latency = {"post": post_ms / 1000, "ddb": ddb_ms / 1000, "in_flight": 0}

    def index_put(item: dict[str, Any]) -> None:
        if "roomShard" not in item:
            return
        key = item["roomShard"]["S"]
        projected = {n: item[n] for n in ("pk", "sk", "roomShard", "shards") if n in item}
        rows = shards[key]
        for i, row in enumerate(rows):
            if row["sk"]["S"] == item["sk"]["S"] and row["pk"]["S"] == item["pk"]["S"]:
                rows[i] = projected
                return
        rows.append(projected)
        rows.sort(key=lambda r: (r["sk"]["S"], r["pk"]["S"]))

    def write_units(pk: str, item: dict[str, Any]) -> None:
        units = max(1, math.ceil(_size(item) / 1024))
        writes[pk] += units
        if "roomShard" in item:
            writes["index:" + item["roomShard"]["S"]] += units

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # see bench/fanout.py: a reply's two writes waited on delayed ACKs

        def log_message(self, *_: Any) -> None:
            pass

        def _reply(self, body: bytes = b"{}", ctype: str = "application/x-amz-json-1.0") -> None:
            self.send_response(200)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with lock:
                if self.path == "/__stats":
                    body = {"stats": stats, "reads": reads, "writes": writes}
                elif self.path == "/__queue":
                    body = {"messages": queue[:]}
                    queue.clear()
                elif self.path == "/__posts":
                    body = {"posts": posts}
                else:
                    body = {}
                if self.path.endswith("?reset") or self.path == "/__reset":
                    stats.clear(), reads.clear(), writes.clear(), posts.clear()
            self._reply(json.dumps(body).encode(), "application/json")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path == "/__load":  # rows to hold (replacing all, or added), and the latencies
                load = json.loads(body)
                with lock:
                    if load.get("replace"):
                        table.clear(), shards.clear()
                    for item in load["items"]:
                        table[(item["pk"]["S"], item["sk"]["S"])] = item
                        if "roomShard" in item:
                            shards[item["roomShard"]["S"]].append(
                                {n: item[n] for n in ("pk", "sk", "roomShard", "shards") if n in item})
                    for rows in shards.values():
                        rows.sort(key=lambda r: (r["sk"]["S"], r["pk"]["S"]))
                    latency.update(load.get("latency") or {})
                return self._reply()
            if "@connections" in self.path:
                connection = self.path.rsplit("/", 1)[1]
                with lock:
                    stats["posts"] += 1
                    latency["in_flight"] += 1
                    stats["max_in_flight"] = max(stats["max_in_flight"], latency["in_flight"])
                    posts[connection].append(body.decode())
                time.sleep(latency["post"])
                with lock:
                    latency["in_flight"] -= 1
                return self._reply(b"", "application/json")
            target = self.headers.get("x-amz-target", "")
            operation = target.rpartition(".")[2]
            request = json.loads(body or b"{}")
            with lock:
                stats[operation] += 1
            time.sleep(latency["ddb"])
            with lock:
                out = self._operation(operation, request)
            self._reply(json.dumps(out).encode())

        def _operation(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
            if operation == "SendMessageBatch":
                for entry in request["Entries"]:
                    queue.append({"body": entry["MessageBody"], "group": entry["MessageGroupId"],
                                  "dedup": entry["MessageDeduplicationId"], "at": time.time()})
                stats["sqs_messages"] += len(request["Entries"])
                return {"Successful": [{"Id": e["Id"], "MessageId": str(uuid.uuid4()), "MD5OfMessageBody":
                                        hashlib.md5(e["MessageBody"].encode()).hexdigest()}
                                       for e in request["Entries"]], "Failed": []}
            if operation == "Query":
                key = request["ExpressionAttributeValues"][":rs"]["S"]
                rows = shards.get(key, [])
                start = 0
                if request.get("ExclusiveStartKey"):
                    last = request["ExclusiveStartKey"]
                    start = next(i for i, r in enumerate(rows) if r["sk"] == last["sk"] and r["pk"] == last["pk"]) + 1
                limit = request.get("Limit") or len(rows)
                page = rows[start:start + limit]
                # An index query is eventually consistent: half a unit per 4 KB read.
                reads["index:" + key] += max(1, math.ceil(sum(map(_size, page)) / 4096)) * 0.5
                out: dict[str, Any] = {"Items": page, "Count": len(page)}
                if start + limit < len(rows):
                    out["LastEvaluatedKey"] = {n: page[-1][n] for n in ("pk", "sk", "roomShard")}
                return out
            if operation == "GetItem":
                key = (request["Key"]["pk"]["S"], request["Key"]["sk"]["S"])
                item = table.get(key)
                units = max(1, math.ceil(_size(item or {}) / 4096))
                reads[key[0]] += units if request.get("ConsistentRead") else units * 0.5
                return {"Item": item} if item else {}
            if operation == "PutItem":
                item = request["Item"]
                table[(item["pk"]["S"], item["sk"]["S"])] = item
                index_put(item)
                write_units(item["pk"]["S"], item)
                return {}
            if operation == "UpdateItem":  # the room counter: ADD joins, SET roomShard, expiresAt, shards
                key = (request["Key"]["pk"]["S"], request["Key"]["sk"]["S"])
                item = table.setdefault(key, dict(request["Key"]))
                values = request.get("ExpressionAttributeValues", {})
                for name in request.get("ExpressionAttributeNames", {}).values():
                    if name == "joins":
                        item["joins"] = {"N": str(int(item.get("joins", {"N": "0"})["N"]) + 1)}
                    else:
                        item[name] = values[":" + {"roomShard": "rs", "expiresAt": "exp", "shards": "shards"}[name]]
                index_put(item)
                write_units(key[0], item)
                return {"Attributes": item} if request.get("ReturnValues") == "ALL_NEW" else {}
            return {}

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]))

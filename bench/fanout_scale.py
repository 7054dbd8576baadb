"""The AWS fan-out at internet scale, simulated: one update to 1k, 10k and 100k subscribers of one
group, and 100 updates/s to a 10k room, through the real entry points of the two-hop path
(``hosts.aws.fanout`` → SQS FIFO → ``hosts.aws.delivery``), with the Lambda concurrency counted.

What is real: the stream records (real ``set()`` writes through ``DynamoDBStreamStore`` on moto, read
from the table's stream as Lambda would), the stream consumer and the delivery workers (their code, their
boto3 clients, their threads, their signed posts), the subscriptions adapter's joins (2,000 of them,
counted) and the key layout of every row. What stands in: one process (``bench/scale_standin.py``) answering DynamoDB
(the ``byRoomShard`` index's queries from the rows it was given, the ledgers' GetItem/PutItem, the
counters' UpdateItem) after ``--dynamodb-latency-ms`` (5), SQS ``SendMessageBatch`` after the same, and
the Management API's ``PostToConnection`` after ``--latency-ms`` (20). It counts every call and the bytes
each DynamoDB call reads or writes per partition key, from which read and write units are derived as
DynamoDB bills them (reads: 4 KB units, halved when eventually consistent, as index queries always are;
writes: 1 KB units, and again for the index when the item is in it).

Scenario ``one`` (per size, ``--repeats`` updates, the median reported): the consumer runs on the
update's stream record (its wall time measured); then each delivery message it sent runs through the
delivery entry point, one after the other, each as its own warm container would (its own wall time
measured: on Lambda they run side by side, each with its own CPU). The timeline: the consumer from 0,
each delivery invocation from the consumer's end plus the SQS → Lambda hop (``--sqs-hop-ms``, 100: AWS
publishes no figure; stated, not measured), ending at its measured duration. Concurrent invocations are
counted on that timeline. The last post's time is "from the stream record"; the stream → Lambda poll (up
to 250 ms at 4 polls/s) comes on top and is added in the summary as ``with stream poll``.

Scenario ``rate``: 100 updates/s for ``--seconds`` to a 10k room. The consumer runs on the real records
in 250 ms batches (Lambda's 4 polls per second); the delivery workers run every message of every unit
in SQS FIFO order with a recording pusher in place of HTTP (1,000,000 posts per second of updates
would take this machine's two cores ~6 minutes to sign and send), which checks that every connection
got every frame once and in order. Each message's duration is modelled from what it did: its DynamoDB
calls at 5 ms, and its posts at 20 ms each, each connection's in order, on the worker's 64 threads,
or the CPU its posts take at the CPU per post measured in scenario ``one``, whichever is longer; a
unit's messages run one after the other (FIFO), each from its enqueue time plus the hop.

Usage: python bench/fanout_scale.py [--sizes 1000,10000,100000] [--rate 100] [--seconds 1]
                                    [--shards 32] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "bench" / "app"
STREAM = "petCreation"
GROUP = "launch"
POLL_S = 0.25  # Lambda polls a DynamoDB stream shard 4 times a second
THREADS = 64  # MOTIA_PUSH_CONCURRENCY's default
# us-east-1 list prices (USD), December 2026 pages: Lambda arm64 per GB-s and per request; API
# Gateway WebSocket per message (first billion) and per connection-minute; SQS FIFO per request
# (64 KB chunk); DynamoDB on-demand per read and write request unit.
PRICE = {"lambda_gb_s": 0.0000133334, "lambda_request": 0.20e-6, "ws_message": 1.00e-6,
         "ws_connection_minute": 0.25e-6, "sqs_fifo_request": 0.50e-6, "rru": 0.125e-6, "wru": 0.625e-6}
CONSUMER_GB = 0.5
DELIVERY_GB = 1.769


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(port: int, path: str, data: Any = None) -> dict[str, Any]:
    body = None if data is None else json.dumps(data).encode()
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body), timeout=600) as r:
        return json.loads(r.read() or b"{}")  # type: ignore[no-any-return]


# -- the pieces the scenarios share ------------------------------------------------------------------
def stream_records(updates: int) -> tuple[list[dict[str, Any]], Counter[str]]:
    """``updates`` real set()s of one item of the group on moto, as Lambda stream records; and the
    DynamoDB calls they made."""
    import boto3

    from motia_runtime.testing import CloudSim
    from motia_runtime.testing.pump import StreamPump

    calls: Counter[str] = Counter()
    with CloudSim(APP) as sim:
        boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
        pump = StreamPump(sim.client("dynamodbstreams"), list(sim.resources.stream_arns.values()), lambda e: {},
                          batch_size=100_000)
        pump.read()
        for n in range(updates):
            sim.run(lambda rt, n=n: rt.streams[STREAM].set(GROUP, "status", {
                "message": f"update {n}", "stage": "live", "progress": n, "sentAt": time.time() * 1000, "seq": n}))
        # moto streams an UpdateItem that creates an item as an INSERT of its keys only, then a
        # MODIFY with the item: the first is no change (the consumer skips it), and AWS sends one.
        records = [r for r in pump.read() if set(r["dynamodb"].get("NewImage") or {}) - {"pk", "sk"}]
    boto3.DEFAULT_SESSION = None
    return records, calls


def room_rows(subscribers: int, shards: int, big_room: int) -> list[dict[str, Any]]:
    """The connections table rows of a room of ``subscribers``, as the adapter writes them: the first
    ``big_room - 1`` joins in shard 0, the rest spread by keys.shard_of; the room's counter."""
    from motia_runtime.adapters.aws import keys as k

    room = k.room(STREAM, GROUP, None)
    rows = []
    for n in range(subscribers):
        connection = base64.urlsafe_b64encode(n.to_bytes(11, "big")).decode()
        shard = 0 if n + 1 < big_room else k.shard_of(connection, shards)
        rows.append({"pk": {"S": connection}, "sk": {"S": k.subscription_sk(str(uuid.UUID(int=n)))},
                     "room": {"S": room}, "roomShard": {"S": k.room_shard(room, shard)},
                     "stream": {"S": STREAM}, "groupId": {"S": GROUP}, "subscriptionId": {"S": str(uuid.UUID(int=n))},
                     "expiresAt": {"N": str(int(time.time()) + 3 * 3600)}})
    counter = {"pk": {"S": k.room_pk(room)}, "sk": {"S": k.ROOM_SK}, "joins": {"N": str(subscribers)},
               "roomShard": {"S": k.room_shard(room, 0)}, "expiresAt": {"N": str(int(time.time()) + 3 * 3600)}}
    if subscribers >= big_room and shards > 1:
        counter["shards"] = {"N": str(shards)}
    return [counter, *rows]


def _env(port: int, name: str, shards: int, big_room: int) -> dict[str, str]:
    return {"AWS_LAMBDA_FUNCTION_NAME": name, "MOTIA_CONNECTIONS_TABLE": "connections",
            "MOTIA_WS_ENDPOINT": f"http://127.0.0.1:{port}/bench", "POWERTOOLS_SERVICE_NAME": "bench",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{port}", "AWS_ENDPOINT_URL_SQS": f"http://127.0.0.1:{port}",
            "MOTIA_DELIVERY_QUEUE": f"http://127.0.0.1:{port}/000000000000/delivery.fifo",
            "MOTIA_FANOUT_SHARDS": str(shards), "MOTIA_FANOUT_BIG_ROOM": str(big_room), "LOG_LEVEL": "warning",
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}


class _Context:
    def __init__(self, name: str) -> None:
        self.function_name = name
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


_functions: dict[str, Any] = {}  # bootstrap.Function by name: warm containers, kept between scenarios


def _function(env: dict[str, str]) -> Any:
    from motia_runtime.hosts.aws import bootstrap

    name = env["AWS_LAMBDA_FUNCTION_NAME"]
    if name not in _functions:
        _functions[name] = bootstrap.Function(env)
    return _functions[name]


def _invoke(entry: Any, event: dict[str, Any], env: dict[str, str]) -> tuple[dict[str, Any], float, float]:
    """One invocation: (result, wall ms, CPU ms of this process)."""
    from motia_runtime.hosts.aws import bootstrap

    os.environ.update(env)
    cpu, wall = time.process_time(), time.perf_counter()
    with bootstrap.serving(_function(env)):
        out = entry.handler(event, _Context(env["AWS_LAMBDA_FUNCTION_NAME"]))
    return out, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _sqs_event(message: dict[str, Any], n: int) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{n}", "receiptHandle": f"r{n}", "body": message["body"],
                         "attributes": {"MessageGroupId": message["group"], "ApproximateReceiveCount": "1",
                                        "MessageDeduplicationId": message["dedup"]},
                         "messageAttributes": {}, "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:delivery.fifo"}]}


def _cost(per_update: dict[str, float], subscribers: int) -> dict[str, float]:
    """USD per million updates per subscriber: the cost of one update over its subscribers, times 10^6."""
    usd = {name: value * PRICE[name] for name, value in per_update.items()}
    usd["total"] = sum(usd.values())
    return {name: round(value / subscribers * 1e6, 4) for name, value in usd.items()}


# -- scenario one: one update to N subscribers ---------------------------------------------------------
def scenario_one(port: int, subscribers: int, shards: int, big_room: int, hop_ms: float,
                 records: list[dict[str, Any]]) -> dict[str, Any]:
    from motia_runtime.hosts.aws import delivery, fanout

    # (Containers are kept between invocations and scenarios, warm, as Lambda keeps them.)
    _call(port, "/__load", {"items": room_rows(subscribers, shards, big_room), "replace": True})
    _call(port, "/__reset")
    consumer_env = _env(port, "bench-consumer", shards, big_room)
    result, consumer_ms, consumer_cpu = _invoke(fanout, {"Records": records[:1]}, consumer_env)
    assert not result["batchItemFailures"], result
    consumer_stats = _call(port, "/__stats")
    messages = _call(port, "/__queue")["messages"]
    invocations = []
    delivery_env = _env(port, "bench-delivery", shards, big_room)
    for n, message in enumerate(messages):
        _call(port, "/__reset")
        out, ms, cpu = _invoke(delivery, _sqs_event(message, n), delivery_env)
        assert not out["batchItemFailures"], out
        stats = _call(port, "/__stats")
        invocations.append({"ms": round(ms, 1), "cpu_ms": round(cpu, 1), "posts": stats["stats"].get("posts", 0),
                            "max_concurrent_posts": stats["stats"].get("max_in_flight", 0),
                            "dynamodb_calls": {k: v for k, v in stats["stats"].items()
                                               if k in ("GetItem", "Query", "PutItem")},
                            "reads": stats["reads"], "writes": stats["writes"]})
    posts = sum(i["posts"] for i in invocations)
    if not messages:  # a small room: the consumer posted itself
        posts = consumer_stats["stats"].get("posts", 0)
    assert posts == subscribers, (posts, subscribers, len(messages), consumer_stats)
    starts = consumer_ms + hop_ms
    ends = [starts + i["ms"] for i in invocations]
    last_post_ms = max(ends, default=consumer_ms)
    # Concurrency counted on the timeline: invocations whose [start, end) overlap, the consumer included.
    events = sorted([(0.0, 1), (consumer_ms, -1)] + [(starts, 1) for _ in invocations] + [(e, -1) for e in ends],
                    key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    reads: Counter[str] = Counter(consumer_stats["reads"])
    writes: Counter[str] = Counter(consumer_stats["writes"])
    for i in invocations:
        reads.update(i["reads"])
        writes.update(i["writes"])
    delivery_gb_s = sum(i["ms"] for i in invocations) / 1000 * DELIVERY_GB
    per_update = {"lambda_gb_s": consumer_ms / 1000 * CONSUMER_GB + delivery_gb_s,
                  "lambda_request": 1 + len(invocations), "ws_message": posts,
                  # SQS FIFO: the send (one request per 10 messages), and Lambda's receive + delete of each.
                  "sqs_fifo_request": math.ceil(len(messages) / 10) + 2 * len(messages),
                  "rru": sum(reads.values()), "wru": sum(writes.values())}
    # CPU per post over the whole update (each invocation's fixed cost shared out over its posts).
    cpu_per_post = sum(i["cpu_ms"] for i in invocations) / posts if invocations and posts else None
    return {
        "subscribers": subscribers, "shards": shards if messages else 1, "path": "two hops" if messages else "one hop",
        "consumer_ms": round(consumer_ms, 1), "consumer_cpu_ms": round(consumer_cpu, 1),
        "consumer_calls": {k: v for k, v in consumer_stats["stats"].items()
                           if k in ("Query", "GetItem", "SendMessageBatch")},
        "delivery_messages": len(messages), "delivery_invocations": len(invocations),
        "delivery_ms": {"min": min((i["ms"] for i in invocations), default=0),
                        "median": statistics.median([i["ms"] for i in invocations]) if invocations else 0,
                        "max": max((i["ms"] for i in invocations), default=0)},
        "posts_per_invocation": {"min": min((i["posts"] for i in invocations), default=0),
                                 "max": max((i["posts"] for i in invocations), default=0)},
        "max_concurrent_posts_per_invocation": max((i["max_concurrent_posts"] for i in invocations), default=0),
        "cpu_ms_per_post": round(cpu_per_post, 3) if cpu_per_post else None,
        "sqs_hop_ms": hop_ms, "last_post_ms": round(last_post_ms, 1),
        "last_post_ms_with_stream_poll": round(last_post_ms + POLL_S * 1000, 1),
        "concurrent_invocations": peak,
        "read_units": {"per_update": round(sum(reads.values()), 1), "max_per_key": round(max(reads.values()), 1),
                       "keys": len(reads)},
        "write_units": {"per_update": round(sum(writes.values()), 1),
                        "max_per_key": round(max(writes.values(), default=0), 1), "keys": len(writes)},
        "cost_per_million_updates_per_subscriber_usd": _cost(per_update, subscribers),
        "invocations": invocations[:3] + ([{"...": len(invocations) - 3}] if len(invocations) > 3 else []),
    }


# -- joins: calls and write units per join ----------------------------------------------------------
def scenario_joins(port: int, joins: int, shards: int, big_room: int) -> dict[str, Any]:
    from motia_runtime.adapters.aws.subscriptions import DynamoDBSubscriptions
    from motia_runtime.protocol import Subscription

    os.environ.update(_env(port, "bench-joins", shards, big_room))
    _call(port, "/__load", {"items": [], "replace": True, "latency": {"ddb": 0}})
    _call(port, "/__reset")
    subs = DynamoDBSubscriptions("connections", shards=shards, big_room=big_room)
    for n in range(joins):
        subs.subscribe(f"join-{n:06d}=", Subscription(STREAM, "joins", None, f"s{n}"))
    stats = _call(port, "/__stats")
    writes = stats["writes"]
    return {"joins": joins, "calls_per_join": {k: round(v / joins, 3) for k, v in stats["stats"].items()},
            "write_units_per_join": round(sum(writes.values()) / joins, 2),
            "max_write_units_per_key_per_join": round(max(writes.values()) / joins, 3),
            "write_units_per_key_at_10_joins_per_s": round(max(writes.values()) / joins * 10, 2)}


# -- scenario rate: 100 updates/s to a 10k room --------------------------------------------------------
def scenario_rate(port: int, subscribers: int, rate: int, seconds: float, shards: int, big_room: int,
                  hop_ms: float, post_ms: float, ddb_ms: float, cpu_per_post_ms: float,
                  records: list[dict[str, Any]]) -> dict[str, Any]:
    from motia_runtime.adapters.aws.pusher import ApiGatewayPusher
    from motia_runtime.hosts.aws import delivery, fanout

    _call(port, "/__load", {"items": room_rows(subscribers, shards, big_room), "replace": True,
                            "latency": {"ddb": 0, "post": 0}})
    updates = int(rate * seconds)
    records = records[:updates]
    written_at = [n / rate for n in range(updates)]  # the simulated write times
    got: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()

    class Recording(ApiGatewayPusher):
        def post(self, connection_id: str, data: str | bytes) -> None:
            seq = json.loads(data)["event"]["data"]["seq"]
            with lock:
                got[connection_id].append(seq)

    consumer_env = _env(port, "bench-consumer", shards, big_room)
    delivery_env = _env(port, "bench-delivery", shards, big_room)
    os.environ.update(delivery_env)
    _function(delivery_env).pushers[delivery_env["MOTIA_WS_ENDPOINT"]] = Recording(delivery_env["MOTIA_WS_ENDPOINT"])
    per_batch = max(1, int(rate * POLL_S))
    unit_free: dict[str, float] = defaultdict(float)  # unit → when its last message ends (s)
    last_end = 0.0
    busy: list[tuple[float, int]] = []
    messages_total = posts_total = 0
    consumer_calls: Counter[str] = Counter()
    for first in range(0, updates, per_batch):
        batch = records[first:first + per_batch]
        polled_at = written_at[first + len(batch) - 1] + POLL_S  # the poll after the batch's last write
        _call(port, "/__reset")
        result, _, _ = _invoke(fanout, {"Records": batch}, consumer_env)
        assert not result["batchItemFailures"], result
        stats = _call(port, "/__stats")["stats"]
        consumer_calls.update({k: v for k, v in stats.items() if k in ("Query", "GetItem", "SendMessageBatch")})
        consumer_ms = stats.get("Query", 0) * ddb_ms + stats.get("SendMessageBatch", 0) * ddb_ms
        enqueued_at = polled_at + consumer_ms / 1000
        busy += [(polled_at, 1), (enqueued_at, -1)]
        for n, message in enumerate(_call(port, "/__queue")["messages"]):
            body = json.loads(message["body"])
            entries = len(body["entries"])
            before = sum(len(v) for v in got.values())
            out, _, _ = _invoke(delivery, _sqs_event(message, n), delivery_env)
            assert not out["batchItemFailures"], out
            posts = sum(len(v) for v in got.values()) - before
            connections = posts // entries if entries else 0
            # Each connection's frames one after the other at post_ms; THREADS connections at a time;
            # or the CPU the posts need, if longer. Plus the ledger read, the shard query, the ledger write.
            latency_s = math.ceil(connections / THREADS) * entries * post_ms / 1000
            duration = 3 * ddb_ms / 1000 + max(latency_s, posts * cpu_per_post_ms / 1000)
            start = max(enqueued_at + hop_ms / 1000, unit_free[message["group"]])
            unit_free[message["group"]] = end = start + duration
            busy += [(start, 1), (end, -1)]
            last_end = max(last_end, end)
            messages_total += 1
            posts_total += posts
    expected = list(range(updates))
    in_order = sum(1 for seqs in got.values() if seqs == expected)
    running = peak = 0
    for _, step in sorted(busy, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    last_write = written_at[-1]
    return {
        "subscribers": subscribers, "updates_per_s": rate, "seconds": seconds, "updates": updates, "shards": shards,
        "consumer_batches": math.ceil(updates / per_batch), "delivery_messages": messages_total,
        "posts": posts_total, "connections_with_every_frame_once_in_order": in_order,
        "connections": subscribers, "lost_or_repeated_or_reordered": subscribers - in_order,
        "last_post_after_last_write_s": round(last_end - last_write, 2),
        "concurrent_invocations_peak": peak, "consumer_calls_per_batch": {
            k: round(v / math.ceil(updates / per_batch), 1) for k, v in consumer_calls.items()},
        "posts_needed_per_s": subscribers * rate,
        "frames_per_s_one_connection_takes_in_order": round(1000 / post_ms, 1) if post_ms else None,
        "cpu_ms_per_post_used": cpu_per_post_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rate-room", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--rate-shards", default="64,640", help="shard counts the rate scenario runs with")
    parser.add_argument("--big-room", type=int, default=250)
    parser.add_argument("--joins", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="updates per size (the median run is reported)")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--dynamodb-latency-ms", type=float, default=5)
    parser.add_argument("--sqs-hop-ms", type=float, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    records, set_calls = stream_records(max(int(args.rate * args.seconds), 1))
    port = _free_port()
    stand_in = subprocess.Popen([sys.executable, str(Path(__file__).with_name("scale_standin.py")), str(port),
                                 str(args.latency_ms), str(args.dynamodb_latency_ms)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert stand_in.stdout is not None and stand_in.stdout.readline().strip() == "ready"
        out: dict[str, Any] = {"settings": {"shards": args.shards, "big_room": args.big_room,
                                            "post_ms": args.latency_ms, "dynamodb_ms": args.dynamodb_latency_ms,
                                            "sqs_hop_ms": args.sqs_hop_ms, "threads_per_invocation": THREADS},
                               "set_calls_per_update": {k: v / len(records) for k, v in set_calls.items()}}
        out["joins"] = scenario_joins(port, args.joins, args.shards, args.big_room)
        out["one"] = []
        # Warm containers first (the consumer's and a delivery worker's clients, imports): an update to
        # a room just big enough, not reported.
        scenario_one(port, args.big_room, args.shards, args.big_room, args.sqs_hop_ms, records)
        for size in sizes:
            _call(port, "/__load", {"items": [], "latency": {"ddb": args.dynamodb_latency_ms / 1000,
                                                             "post": args.latency_ms / 1000}})
            load = os.getloadavg()[0]
            runs = [scenario_one(port, size, args.shards, args.big_room, args.sqs_hop_ms, records)
                    for _ in range(args.repeats)]
            # The run whose last post is the median is reported; every run's last post is listed.
            result = sorted(runs, key=lambda r: r["last_post_ms"])[len(runs) // 2]
            result["last_post_ms_runs"] = [r["last_post_ms"] for r in runs]
            result["load"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            print(f"  one update to {size}: {json.dumps({k: v for k, v in result.items() if k != 'invocations'})}",
                  file=sys.stderr)
            out["one"].append(result)
        # The CPU per post of the largest update: most posts per invocation, so the least fixed cost each.
        cpu = [r["cpu_ms_per_post"] for r in out["one"][-1:] if r["cpu_ms_per_post"]]
        out["rate"] = []
        for shards in [int(s) for s in args.rate_shards.split(",") if s] if args.rate and args.seconds else []:
            load = os.getloadavg()[0]
            result = scenario_rate(port, args.rate_room, args.rate, args.seconds, shards, args.big_room,
                                   args.sqs_hop_ms, args.latency_ms, args.dynamodb_latency_ms,
                                   max(cpu) if cpu else 0.4, records)
            result["load"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            print(f"  {args.rate} updates/s to {args.rate_room}, {shards} shards: {json.dumps(result)}",
                  file=sys.stderr)
            out["rate"].append(result)
    finally:
        stand_in.terminate()
        stand_in.wait(5)
    text = json.dumps(out, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

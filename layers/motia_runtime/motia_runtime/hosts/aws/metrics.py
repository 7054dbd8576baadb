"""CloudWatch metrics of the push path, as Embedded Metric Format lines (Powertools Metrics).

Each fan-out invocation writes one EMF line to its log: CloudWatch turns it into the metrics
below, under the namespace ``MOTIA_METRICS_NAMESPACE`` (default ``Motia``; read with the function's
settings, ``bootstrap.Settings.metrics_namespace``, and handed to each call here) with the stack's
``service`` dimension (``POWERTOOLS_SERVICE_NAME``), with no API call and no added latency:

- ``FramesPushed`` (Count): frames posted to connections;
- ``GoneConnections`` (Count): connections that answered 410 and were removed;
- ``FanoutFailedRecords`` (Count): records handed back to Lambda to retry;
- ``FanoutLatency`` (Milliseconds): from the oldest change of the batch being written to the
  end of its push (the writer's stamp against this function's clock).

Per stream (dimensions ``service`` and ``Stream``), one more EMF line per stream in the batch:
``FramesPushed`` and ``FanoutLatency`` again (the stream's own frames, its oldest change). And
from the WebSocket function, on a refusal only: ``RefusedJoins`` (Count, per ``Stream``) for a
join refused by ``public``/``can_access``/``on_join`` or the subscription cap, and
``RefusedConnections`` (Count) for a handshake ``authenticate`` refused.

Why a stream dimension and no group dimension: CloudWatch bills each distinct metric
(name + dimension values) per month. Streams are declared in code, a handful per app, so a
``Stream`` dimension costs a few metrics; groups are user data (one per pet, per user), and a
``Group`` dimension would create a billed metric per group, without bound. Per-group figures are
in the logs (each batch's ``batch pushed`` line) for Logs Insights, at no metric cost.

docs/deploying.md's operations section names the alarms built on them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fanout import FanoutResult, PendingChange


def publish_fanout(result: FanoutResult, pending: Sequence[PendingChange], namespace: str) -> None:
    # Imported here: the package is already loaded for the logger, the metrics module is small.
    from aws_lambda_powertools.metrics import Metrics, MetricUnit

    metrics = Metrics(namespace=namespace)
    metrics.add_metric(name="FramesPushed", unit=MetricUnit.Count, value=result.frames)
    metrics.add_metric(name="GoneConnections", unit=MetricUnit.Count, value=len(result.gone))
    metrics.add_metric(name="FanoutFailedRecords", unit=MetricUnit.Count, value=len(result.failed))
    if pending:
        oldest = min(p.change.timestamp for p in pending)
        metrics.add_metric(name="FanoutLatency", unit=MetricUnit.Milliseconds,
                           value=max(int(time.time() * 1000) - oldest, 0))
    metrics.flush_metrics()
    by_stream: dict[str, int] = {}
    for p in pending:
        by_stream[p.change.stream_name] = min(by_stream.get(p.change.stream_name, p.change.timestamp),
                                              p.change.timestamp)
    now = int(time.time() * 1000)
    for stream, oldest_stamp in sorted(by_stream.items()):
        per_stream = Metrics(namespace=namespace)
        per_stream.add_dimension(name="Stream", value=stream)
        per_stream.add_metric(name="FramesPushed", unit=MetricUnit.Count, value=result.frames_by_stream.get(stream, 0))
        per_stream.add_metric(name="FanoutLatency", unit=MetricUnit.Milliseconds, value=max(now - oldest_stamp, 0))
        per_stream.flush_metrics()


def publish_refused(stream: str | None, namespace: str) -> None:
    """One refusal: ``RefusedJoins`` for ``stream``, or ``RefusedConnections`` (None: a handshake)."""
    from aws_lambda_powertools.metrics import Metrics, MetricUnit

    metrics = Metrics(namespace=namespace)
    if stream is None:
        metrics.add_metric(name="RefusedConnections", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_dimension(name="Stream", value=stream)
        metrics.add_metric(name="RefusedJoins", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()

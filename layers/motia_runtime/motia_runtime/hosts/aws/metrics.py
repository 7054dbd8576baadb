"""CloudWatch metrics of the push path, as Embedded Metric Format lines (Powertools Metrics).

Each fan-out invocation writes one EMF line to its log: CloudWatch turns it into the metrics
below, under the namespace ``MOTIA_METRICS_NAMESPACE`` (default ``Motia``) with the stack's
``service`` dimension (``POWERTOOLS_SERVICE_NAME``), with no API call and no added latency:

- ``FramesPushed`` (Count): frames posted to connections;
- ``GoneConnections`` (Count): connections that answered 410 and were removed;
- ``FanoutFailedRecords`` (Count): records handed back to Lambda to retry;
- ``FanoutLatency`` (Milliseconds): from the oldest change of the batch being written to the
  end of its push (the writer's stamp against this function's clock).

docs/deploying.md's operations section names the alarms built on them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fanout import FanoutResult, PendingChange

ENV_NAMESPACE = "MOTIA_METRICS_NAMESPACE"


def publish_fanout(result: FanoutResult, pending: Sequence[PendingChange]) -> None:
    # Imported here: the package is already loaded for the logger, the metrics module is small.
    from aws_lambda_powertools.metrics import Metrics, MetricUnit

    metrics = Metrics(namespace=os.environ.get(ENV_NAMESPACE) or "Motia")
    metrics.add_metric(name="FramesPushed", unit=MetricUnit.Count, value=result.frames)
    metrics.add_metric(name="GoneConnections", unit=MetricUnit.Count, value=len(result.gone))
    metrics.add_metric(name="FanoutFailedRecords", unit=MetricUnit.Count, value=len(result.failed))
    if pending:
        oldest = min(p.change.timestamp for p in pending)
        metrics.add_metric(name="FanoutLatency", unit=MetricUnit.Milliseconds,
                           value=max(int(time.time() * 1000) - oldest, 0))
    metrics.flush_metrics()

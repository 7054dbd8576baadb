"""SAM template generation: ``build_template(project) -> dict`` and ``render_yaml(template) -> str``.

Modules: names (logical ids, metadata tags), functions (globals, layer, HTTP API, step functions),
queues (SQS, DLQ, EventBridge rules, FIFO routing), schedules + cron (EventBridge schedules),
tables (DynamoDB, bus), websocket (WebSocket API, its function, the stream fan-out), builder.
"""

from .builder import build_template
from .cron import CronConversionError, to_aws_cron
from .render import render_yaml, stale_diff

__all__ = ["CronConversionError", "build_template", "render_yaml", "stale_diff", "to_aws_cron"]

"""A project with every kind of step the template handles: api, standard and FIFO event, cron."""

from __future__ import annotations

from .conftest import step

FILES = {
    "functions/orders/create_order_step.py": step(
        """{"type": "api", "name": "CreateOrder", "path": "/orders/:orderId/items/:itemId", "method": "post",
        "emits": ["order.created"], "infrastructure": {"handler": {"ram": 512, "timeout": 10}}}""",
        "api",
    ),
    "functions/orders/list_orders_step.py": step(
        """{"type": "api", "name": "ListOrders", "path": "/orders", "method": "GET"}""", "api"
    ),
    "functions/orders/ship_step.py": step(
        """{"type": "event", "name": "Ship", "subscribes": ["order.created", "order.updated"], "emits": ["audit"],
        "infrastructure": {"handler": {"ram": 256, "timeout": 60},
                           "queue": {"maxRetries": 5, "visibilityTimeout": 120, "delaySeconds": 10,
                                     "concurrency": 5}}}"""
    ),
    "functions/orders/ledger_step.py": step(
        """{"type": "event", "name": "Ledger", "subscribes": ["order.created"],
        "infrastructure": {"queue": {"type": "fifo", "maxRetries": 0, "visibilityTimeout": 60}}}"""
    ),
    "functions/audit/audit_log_step.py": step(
        """{"type": "event", "name": "audit-log", "subscribes": ["audit"],
        "infrastructure": {"queue": {"type": "fifo"}}}"""
    ),
    "functions/audit/nightly_step.py": step(
        """{"type": "cron", "name": "Nightly", "cron": "0 9 * * 1-5", "emits": ["audit"]}""", "cron"
    ),
    "functions/audit/manual_step.py": (
        'config = {"type": "noop", "name": "Manual", "virtualEmits": ["order.updated"]}\n'
    ),
    "streams/orders_stream.py": 'config = {"name": "orders", "schema": {"type": "object"}}\n',
}

"""The local host: Starlette on uvicorn, an in-process event bus, cron, SQLite, WebSockets."""

"""Logs never carry credentials: by value, by field name, or by shape, through the step logger
and the filter put on uvicorn's loggers (tests/local/test_stream_auth.py checks a real server's log)."""

from __future__ import annotations

import json
import logging

import pytest

from motia_runtime.auth import mint_stream_token
from motia_runtime.log import StepLogger
from motia_runtime.redact import REDACTED, RedactingFilter, redact

OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
SECRET = "stream-secret-0123456789abcdefghijklmnop"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("MOTIA_STREAM_SECRET", SECRET)


def test_redact_by_value_name_and_shape() -> None:
    token = mint_stream_token("orders", "A")
    value = {
        "message": f"calling with {OPENAI_KEY} and {SECRET}",
        "headers": {"authorization": "Bearer abc.def", "Cookie": "sid=1", "content-type": "application/json",
                    "sec-websocket-protocol": "Authorization, opaque-token"},
        "authToken": "opaque", "refresh_token": "x", "max_tokens": 300, "url": f"ws://h/?authToken={token}&x=1",
        "nested": [{"note": f"token {token} sent", "password": "hunter2"}], "empty_token": None,
        "text": "Sec-WebSocket-Protocol: Authorization, opaque-token", "bearer": "Bearer opaque.tok-en",
    }
    out = redact(value)
    assert out["message"] == f"calling with {REDACTED} and {REDACTED}"
    assert out["headers"] == {"authorization": REDACTED, "Cookie": REDACTED, "content-type": "application/json",
                              "sec-websocket-protocol": REDACTED}
    assert out["authToken"] == out["refresh_token"] == REDACTED and out["max_tokens"] == 300
    assert out["url"] == f"ws://h/?authToken={REDACTED}&x=1"
    assert out["nested"] == [{"note": f"token {REDACTED} sent", "password": REDACTED}]
    assert out["empty_token"] is None
    assert out["text"] == f"Sec-WebSocket-Protocol: Authorization, {REDACTED}"
    assert out["bearer"] == f"Bearer {REDACTED}"
    assert value["authToken"] == "opaque"  # the caller's data is not changed


def test_the_step_logger_writes_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    sunk: list[dict[str, object]] = []
    token = mint_stream_token("orders", "A")
    logger = StepLogger({"step": "S"}, sink=sunk.append)
    logger.info(f"minted {token} using {SECRET}", {"token": token, "apiKey": OPENAI_KEY, "petId": "p1"})
    try:
        raise RuntimeError(f"upstream rejected key {OPENAI_KEY}")
    except RuntimeError:
        logger.exception("call failed")
    records = [r for r in caplog.records if "minted" in r.getMessage() or "call failed" in r.getMessage()]
    assert len(records) == 2  # what the JSON log lines are written from
    written = json.dumps([r.__dict__ for r in records], default=str) + json.dumps(sunk)
    for secret in (token, SECRET, OPENAI_KEY):
        assert secret not in written
    assert sunk[0]["msg"] == f"minted {REDACTED} using {REDACTED}" and sunk[0]["petId"] == "p1"
    assert REDACTED in str(sunk[1]["stack"])


def test_the_uvicorn_filter_rewrites_request_lines(caplog: pytest.LogCaptureFixture) -> None:
    token = mint_stream_token("orders", "A")
    logger = logging.getLogger("uvicorn.error.test-redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info('%s - "WebSocket %s" %d', "127.0.0.1:5", f"/?authToken={token}", 401)
    assert caplog.records[0].getMessage() == f'127.0.0.1:5 - "WebSocket /?authToken={REDACTED}" 401'

"""hosts/local/http.py ``raw_response``: the status, headers and body the app's short way in sends
are those Starlette's ``Response`` (``to_response``) sends for the same step answer."""

from __future__ import annotations

from typing import Any

import pytest

from motia_runtime.dispatch import ApiResponse
from motia_runtime.hosts.local.http import raw_response, to_response

ANSWERS: list[ApiResponse] = [
    ApiResponse(200, {"ok": True}, {"x-trace-id": "ABCDE-1234567"}),
    ApiResponse(201, [1, "two", None], {"x-trace-id": "T", "x-extra": "é"}),
    ApiResponse(200, None, {}),
    ApiResponse(204, None, {"x-trace-id": "T"}),
    ApiResponse(204, {"ignored": 1}, {"x-trace-id": "T"}),
    ApiResponse(304, None, {}),
    ApiResponse(101, {"a": 1}, {}),
    ApiResponse(200, "plain", {"x-trace-id": "T"}),
    ApiResponse(200, "<p>hi</p>", {"Content-Type": "text/html"}),
    ApiResponse(200, b"\x00\x01", {"content-type": "image/png"}),
    ApiResponse(200, b"raw", {}),
    ApiResponse(200, {"a": 1}, {"Vary": "Accept", "X-Upper": "v"}),
    ApiResponse(200, {"a": 1}, {"content-type": "application/vnd.api+json"}),
    ApiResponse(200, {"a": 1}, {"content-length": "7"}),
    ApiResponse(500, {"error": "Internal Server Error"}, {"x-trace-id": "T"}),
    ApiResponse(400, {"error": "Validation error", "errors": [{"field": "op"}]}, {"x-trace-id": "T"}),
]


@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a.status}-{type(a.body).__name__}-{i}"
                                                for i, a in enumerate(ANSWERS)])
def test_raw_response_is_what_starlettes_response_sends(answer: Any) -> None:
    response = to_response(answer)
    assert raw_response(answer) == (response.status_code, response.raw_headers, bytes(response.body))

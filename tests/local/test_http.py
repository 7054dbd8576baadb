"""API steps over real HTTP on loopback."""

from __future__ import annotations

import httpx


def test_set_returns_the_item_with_id_and_motia_marker(http: httpx.Client) -> None:
    response = http.post("/items/g1/a", json={"op": "set", "data": {"label": "hello", "n": 1}})
    assert response.status_code == 200
    assert response.json() == {
        "label": "hello", "n": 1, "id": "a", "_createdAt": response.json()["_createdAt"],
        "__motia": {"type": "state-stream", "streamName": "items", "groupId": "g1", "id": "a"},
    }
    assert response.headers["x-trace-id"]


def test_invalid_json_body_is_a_400_with_a_json_error(http: httpx.Client) -> None:
    response = http.post("/items/g1/a", content=b'{"op": "set",', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid JSON body")


def test_schema_violation_is_a_400_naming_each_field(http: httpx.Client) -> None:
    response = http.post("/items/g1/a", json={"op": "explode", "count": 0})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Validation error"
    assert {e["field"] for e in body["errors"]} == {"op", "count"}


def test_missing_required_field_is_named(http: httpx.Client) -> None:
    response = http.post("/items/g1/a", json={})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "op", "message": "Field required", "type": "missing"}]


def test_unknown_route_is_a_404_json(http: httpx.Client) -> None:
    response = http.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_wrong_method_is_a_405(http: httpx.Client) -> None:
    assert http.get("/items/g1/a").status_code == 405


def test_response_that_breaks_the_response_schema_is_a_500_naming_the_field(http: httpx.Client) -> None:
    response = http.get("/bad-response")
    assert response.status_code == 500
    assert [e["field"] for e in response.json()["errors"]] == ["count"]


def test_set_with_data_that_breaks_the_schema_raises_in_the_step_and_writes_nothing(http: httpx.Client) -> None:
    response = http.post("/invalid-set/bad-group")
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"
    assert "label" in response.json()["detail"] and "n" in response.json()["detail"]
    group = http.get("/__motia/streams/items/groups/bad-group").json()
    assert group == {"items": []}


def test_emitting_an_undeclared_topic_fails_the_request(http: httpx.Client) -> None:
    response = http.post("/emit/nowhere", json={})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}


def test_cors_is_open_like_motia(http: httpx.Client) -> None:
    response = http.options("/items/g1/a", headers={"origin": "http://example.test",
                                                     "access-control-request-method": "POST"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://example.test")

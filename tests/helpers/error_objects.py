"""Assertions on the error object every failure answers with (docs/contract.md#error-object)."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse


def assert_error(body: dict[str, Any], code: int | str, detail_contains: str = "") -> None:
    """Exactly the error object's keys, one detail, and `detail_contains` in its message."""
    assert set(body) == {"code", "reason", "message", "details"}
    assert body["code"] == code
    assert body["message"] == body["reason"]
    assert len(body["details"]) == 1
    assert set(body["details"][0]) == {"message", "datapath"}
    assert detail_contains in body["details"][0]["message"]


async def error_detail(resp: ClientResponse, status: int, code: int) -> dict[str, Any]:
    """Asserts the error object's status, code and shape; returns details[0]."""
    body = await resp.json()
    assert resp.status == status, body
    assert resp.content_type == "application/json"
    assert body["code"] == code, body
    assert body["reason"] and body["message"] == body["reason"]
    assert isinstance(body["details"], list) and body["details"], body
    detail: dict[str, Any] = body["details"][0]
    assert detail["datapath"].startswith("/") or detail["datapath"].startswith("?"), detail
    return detail

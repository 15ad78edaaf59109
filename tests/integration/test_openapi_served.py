"""GET /openapi.json serves app/openapi.json as it is (tests/unit/test_openapi_document.py
checks the document against the routes)."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from tests.helpers.paths import OPENAPI_DOCUMENT


async def test_openapi_is_served_without_credentials(client: TestClient) -> None:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == json.loads(OPENAPI_DOCUMENT.read_text())

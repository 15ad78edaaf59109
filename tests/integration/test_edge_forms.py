"""JSON labelled as a form (curl --data) is taken only on the outboundresponse paths and only
from no site or this one: a page elsewhere can make a browser post a form with its remembered
credentials. Every answer tells browsers not to sniff its type."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.databases import ALL_ORDER_TABLES, counts, fetch
from tests.helpers.error_objects import error_detail
from tests.helpers.in_process import app_client
from tests.helpers.payloads import ORDER_NEW, ORDERS, OUTBOUND_RESPONSE, add_order, example

FORM = "application/x-www-form-urlencoded"
OUTBOUND_ALIAS = "/api/sn_tmf_api/serviceorder/outboundresponse"
NUMBER = "FO0001000"  # the seed's outbound request, which the callback example answers


def _callback() -> bytes:
    return json.dumps(example("09_outboundresponse")["body"]).encode()


def _own_origin(client: TestClient) -> str:
    return f"http://{client.host}:{client.port}"


async def _record(url: str) -> list[dict[str, Any]]:
    return await fetch(
        url, "SELECT state, response FROM outbound_request WHERE number = $1", NUMBER
    )


@pytest.mark.parametrize("path", [OUTBOUND_RESPONSE, OUTBOUND_ALIAS])
@pytest.mark.parametrize("origin", [None, "own"])
async def test_form_json_on_outboundresponse_from_no_site_or_this_one_is_taken(
    demo_client: TestClient, demo_database_url: str, path: str, origin: str | None
) -> None:
    headers = {**auth("integrator"), "Content-Type": FORM}
    if origin:
        headers["Origin"] = _own_origin(demo_client)
    resp = await demo_client.post(path, data=_callback(), headers=headers)
    assert resp.status == 201, await resp.text()
    assert [r["state"] for r in await _record(demo_database_url)] == ["error"]


@pytest.mark.parametrize("origin", ["https://elsewhere.example", "null", "http://127.0.0.1"])
async def test_form_from_another_site_is_415_and_changes_nothing(
    demo_client: TestClient, demo_database_url: str, origin: str
) -> None:
    before = await _record(demo_database_url)
    resp = await demo_client.post(
        OUTBOUND_RESPONSE,
        data=_callback(),
        headers={**auth("integrator"), "Content-Type": FORM, "Origin": origin},
    )
    detail = await error_detail(resp, 415, 65)
    assert "another site" in detail["message"]
    assert await _record(demo_database_url) == before


async def test_json_sent_as_application_json_from_another_site_is_taken(
    demo_client: TestClient,
) -> None:
    """Only a form is what a foreign page can post without a CORS preflight."""
    resp = await demo_client.post(
        OUTBOUND_RESPONSE,
        data=_callback(),
        headers={**auth("integrator"), "Content-Type": "application/json", "Origin": "https://x"},
    )
    assert resp.status == 201, await resp.text()


async def test_a_real_form_on_outboundresponse_is_415(demo_client: TestClient) -> None:
    resp = await demo_client.post(
        OUTBOUND_RESPONSE,
        data=b"externalId=1",
        headers={**auth("integrator"), "Content-Type": FORM},
    )
    await error_detail(resp, 415, 65)


async def test_form_json_creating_an_order_is_415_and_creates_nothing(
    demo_client: TestClient, demo_database_url: str
) -> None:
    before = await counts(demo_database_url, ALL_ORDER_TABLES)
    for origin in ({}, {"Origin": "https://elsewhere.example"}):
        resp = await demo_client.post(
            ORDERS,
            data=json.dumps(add_order()).encode(),
            headers={**auth("integrator"), "Content-Type": FORM, **origin},
        )
        await error_detail(resp, 415, 65)
    assert await counts(demo_database_url, ALL_ORDER_TABLES) == before


async def test_an_empty_form_is_refused_too(
    demo_client: TestClient, demo_database_url: str
) -> None:
    """A form with no fields is a cross-site request all the same (initiate reads no body)."""
    query = "SELECT count(*) AS n FROM outbound_request"
    before = await fetch(demo_database_url, query)
    resp = await demo_client.post(
        f"/api/orderhub/serviceOrder/{ORDER_NEW}/outboundRequest",
        data=b"",
        headers={**auth("agent"), "Content-Type": FORM, "Origin": "https://elsewhere.example"},
    )
    await error_detail(resp, 415, 65)
    assert await fetch(demo_database_url, query) == before


INITIATE = f"/api/orderhub/serviceOrder/{ORDER_NEW}/outboundRequest"
_OUTBOUND_COUNT = "SELECT count(*) AS n FROM outbound_request"


async def test_a_bodiless_post_from_another_site_is_403_and_changes_nothing(
    demo_client: TestClient, demo_database_url: str
) -> None:
    """A page elsewhere can make a browser POST with no body and no preflight; initiate reads
    no body, so only the Origin tells it apart from the agent's own call."""
    before = await fetch(demo_database_url, _OUTBOUND_COUNT)
    for origin in ("https://elsewhere.example", "null"):
        resp = await demo_client.post(INITIATE, headers={**auth("agent"), "Origin": origin})
        detail = await error_detail(resp, 403, 50)
        assert "another site" in detail["message"]
    assert await fetch(demo_database_url, _OUTBOUND_COUNT) == before
    resp = await demo_client.post(
        INITIATE, headers={**auth("agent"), "Origin": _own_origin(demo_client)}
    )
    assert resp.status == 201, await resp.text()
    assert await fetch(demo_database_url, _OUTBOUND_COUNT) != before


async def test_a_bodiless_post_with_no_origin_is_taken(
    demo_client: TestClient, demo_database_url: str
) -> None:
    resp = await demo_client.post(INITIATE, headers=auth("agent"))
    assert resp.status == 201, await resp.text()


@pytest.mark.parametrize("trusted", [True, False])
async def test_behind_a_tls_proxy_a_page_of_the_public_host_is_this_site(
    demo_settings: Settings, demo_database_url: str, trusted: bool
) -> None:
    """The proxy ended TLS and speaks to OrderHub by another name: with the proxy trusted,
    the host it was asked for (X-Forwarded-Host) is this site's; otherwise it is not."""
    app = create_app(replace(demo_settings, orderhub_trusted_proxy=trusted))
    async with app_client(app) as client:
        resp = await client.post(
            OUTBOUND_RESPONSE,
            data=_callback(),
            headers={
                **auth("integrator"),
                "Content-Type": FORM,
                "Origin": "https://orders.example.net",
                "X-Forwarded-Host": "orders.example.net",
                "X-Forwarded-Proto": "https",
            },
        )
        if trusted:
            assert resp.status == 201, await resp.text()
        else:
            await error_detail(resp, 415, 65)


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/health", {}, 200),
        ("/no/such/path", {}, 404),
        ("/api/orderhub/whoami", {}, 401),
        ("/api/orderhub/whoami", auth("agent"), 200),
    ],
)
async def test_every_answer_is_nosniff(
    client: TestClient, path: str, headers: dict[str, str], status: int
) -> None:
    resp = await client.get(path, headers=headers)
    assert resp.status == status
    assert resp.headers["X-Content-Type-Options"] == "nosniff"

"""The standard flavour's hrefs are absolute URIs: ORDERHUB_PUBLIC_URL plus the path, else the
scheme and host the request came by, which are a proxy's X-Forwarded-Proto and
X-Forwarded-Host only when ORDERHUB_TRUSTED_PROXY says it is trusted (docs/settings.md).
`Location` is the body's href."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from app.http.app import create_app
from app.settings import Settings, SettingsError
from tests.helpers.auth import auth
from tests.helpers.in_process import app_client
from tests.helpers.payloads import TMF_CANCELS as CANCELS
from tests.helpers.payloads import TMF_ORDERS as ORDERS
from tests.helpers.payloads import tmf_add_order
from tests.helpers.tmf_schema import assert_matches_definition

USER = auth("integrator")
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}


async def hrefs(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The hrefs and Locations of one order, one with item relationships, and a cancel."""
    headers = {**USER, **(headers or {})}
    body = tmf_add_order()
    body["serviceOrderItem"][0]["serviceOrderItemRelationship"] = []
    created = await client.post(ORDERS, json=body, headers=headers)
    order = await created.json()
    assert created.status == 201, order
    assert_matches_definition(order, "ServiceOrder")
    got = await (await client.get(f"{ORDERS}/{order['id']}", headers=headers)).json()
    cancel = {"serviceOrder": {"id": order["id"]}}
    cancelled = await client.post(CANCELS, json=cancel, headers=headers)
    cancellation = await cancelled.json()
    assert cancelled.status == 201, cancellation
    assert_matches_definition(cancellation, "CancelServiceOrder")
    return {
        "order": order["href"],
        "order Location": created.headers["Location"],
        "order read": got["href"],
        "cancel": cancellation["href"],
        "cancel Location": cancelled.headers["Location"],
        "cancel's order": cancellation["serviceOrder"]["href"],
        "id": order["id"],
        "cancel id": cancellation["id"],
    }


def expected(base: str, found: dict[str, Any]) -> dict[str, Any]:
    order = f"{base}{ORDERS}/{found['id']}"
    cancel = f"{base}{CANCELS}/{found['cancel id']}"
    return {
        "order": order,
        "order Location": order,
        "order read": order,
        "cancel": cancel,
        "cancel Location": cancel,
        "cancel's order": order,
        "id": found["id"],
        "cancel id": found["cancel id"],
    }


async def test_by_default_the_requests_own_scheme_and_host(demo_client: TestClient) -> None:
    base = str(demo_client.make_url("")).rstrip("/")
    found = await hrefs(demo_client)
    assert found == expected(base, found)

    # An untrusted proxy's headers are the client's word: not taken.
    found = await hrefs(demo_client, FORWARDED)
    assert found == expected(base, found)

    found = await hrefs(demo_client, {"Host": "Orders.Example.com:8443"})
    assert found == expected("http://orders.example.com:8443", found)


async def test_behind_a_trusted_proxy_its_forwarded_scheme_and_host(
    demo_settings: Settings,
) -> None:
    async with app_client(create_app(replace(demo_settings, orderhub_trusted_proxy=True))) as c:
        found = await hrefs(
            c, {**FORWARDED, "X-Forwarded-Host": "spoofed.example, api.example.com"}
        )
        assert found == expected("https://api.example.com", found)
        base = str(c.make_url("")).rstrip("/")
        found = await hrefs(c)
        assert found == expected(base, found)


async def test_a_host_header_naming_no_host_gives_the_address_reached(
    demo_client: TestClient,
) -> None:
    found = await hrefs(demo_client, {"Host": "a b/c"})
    assert found == expected(str(demo_client.make_url("")).rstrip("/"), found)


async def test_public_url_wins_over_every_header(demo_settings: Settings) -> None:
    public = Settings.from_env({"ORDERHUB_PUBLIC_URL": "https://orders.example.com/hub/"})
    assert public.orderhub_public_url == "https://orders.example.com/hub"
    settings = replace(
        demo_settings, orderhub_public_url=public.orderhub_public_url, orderhub_trusted_proxy=True
    )
    async with app_client(create_app(settings)) as c:
        found = await hrefs(c, {**FORWARDED, "Host": "elsewhere.example"})
        assert found == expected("https://orders.example.com/hub", found)


@pytest.mark.parametrize(
    "value", ["ftp://orders.example.com", "orders.example.com", "https://", "https://h/?q=1"]
)
def test_a_public_url_that_is_no_base_stops_the_process(value: str) -> None:
    with pytest.raises(SettingsError, match="ORDERHUB_PUBLIC_URL"):
        Settings.from_env({"ORDERHUB_PUBLIC_URL": value})

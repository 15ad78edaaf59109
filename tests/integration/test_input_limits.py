"""Bad input a careless or hostile client sends: always a 400 (or 404) error object, the same
for sync, async and both flavours, and nothing written (docs/api.md#input-limits)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from app.domain import limits
from tests.helpers.auth import auth
from tests.helpers.databases import ALL_ORDER_TABLES, counts
from tests.helpers.error_objects import error_detail
from tests.helpers.payloads import (
    ORDER_NEW,
    ORDERS,
    TMF_CANCELS,
    TMF_ORDERS,
    add_order,
    patch_body,
    tmf_add_order,
)

QUEUE_TABLES = ("inbound_queue", "inbound_processed", "idempotency_claim")


def _nested(depth: int) -> dict[str, Any]:
    body: dict[str, Any] = {}
    inner = body
    for _ in range(depth - 1):
        inner["x"] = {}
        inner = inner["x"]
    return body


def deep_note(order: dict[str, Any], depth: int) -> dict[str, Any]:
    """An order whose note carries a value nested `depth` levels into the body."""
    order["note"] = [{"text": "deep", "extra": _nested(depth - 3)}]
    return order


def long_external_id(order: dict[str, Any]) -> dict[str, Any]:
    order["externalId"] = "E" * 3_000
    return order


def big_quantity(order: dict[str, Any]) -> dict[str, Any]:
    order["serviceOrderItem"][0]["quantity"] = 2_147_483_648
    return order


def superscript_quantity(order: dict[str, Any]) -> dict[str, Any]:
    order["serviceOrderItem"][0]["quantity"] = "²"
    return order


def long_quantity(order: dict[str, Any]) -> dict[str, Any]:
    order["serviceOrderItem"][0]["quantity"] = "9" * 5_000
    return order


def party_type_object(order: dict[str, Any]) -> dict[str, Any]:
    order["relatedParty"][0]["@referredType"] = {}
    return order


def far_date(order: dict[str, Any]) -> dict[str, Any]:
    order["requestedStartDate"] = "9999-12-31T23:00:00-14:00"
    return order


def too_many_items(order: dict[str, Any]) -> dict[str, Any]:
    first = order["serviceOrderItem"][0]
    order["serviceOrderItem"] = [
        {**copy.deepcopy(first), "id": str(n)} for n in range(limits.MAX_ITEMS + 1)
    ]
    return order


# (how the body is spoilt, status, code, datapath)
SPOILT = [
    (lambda o: deep_note(o, 600), 400, 22, None),
    (lambda o: deep_note(o, limits.MAX_DEPTH + 1), 400, 22, None),
    (long_external_id, 400, 24, "/externalId"),
    (big_quantity, 400, 24, "/serviceOrderItem/0/quantity"),
    (superscript_quantity, 400, 24, "/serviceOrderItem/0/quantity"),
    (long_quantity, 400, 24, "/serviceOrderItem/0/quantity"),
    (party_type_object, 400, 24, "/relatedParty/0/@referredType"),
    (far_date, 400, 24, "/requestedStartDate"),
    (too_many_items, 400, 24, "/serviceOrderItem"),
]
IDS = [
    "nested-600",
    "nested-33",
    "externalId-3000",
    "quantity-2^31",
    "quantity-superscript",
    "quantity-5000-digits",
    "party-type-object",
    "date-10000",
    "items-501",
]


async def _refused(resp: Any, status: int, code: int) -> dict[str, Any]:
    """The error object; the standard flavour writes its code as a string."""
    body = await resp.json()
    assert resp.status == status, body
    assert str(body["code"]) == str(code), body
    assert set(body) == {"code", "reason", "message", "details"}
    detail: dict[str, Any] = body["details"][0]
    return detail


async def _nothing_written(url: str, before: dict[str, int]) -> None:
    assert await counts(url, ALL_ORDER_TABLES + QUEUE_TABLES) == before


@pytest.mark.parametrize(("spoil", "status", "code", "datapath"), SPOILT, ids=IDS)
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_servicenow_post_refuses_with_the_error_object_and_writes_nothing(
    demo_client: TestClient,
    demo_database_url: str,
    spoil: Any,
    status: int,
    code: int,
    datapath: str | None,
    mode: str,
) -> None:
    before = await counts(demo_database_url, ALL_ORDER_TABLES + QUEUE_TABLES)
    resp = await demo_client.post(
        ORDERS,
        params={"mode": "async"} if mode == "async" else {},
        data=json.dumps(spoil(add_order())),
        headers={**auth("integrator"), "Content-Type": "application/json"},
    )
    detail = await error_detail(resp, status, code)
    if datapath is not None:
        assert detail["datapath"] == datapath
    await _nothing_written(demo_database_url, before)


@pytest.mark.parametrize(("spoil", "status", "code", "datapath"), SPOILT, ids=IDS)
async def test_standard_flavour_post_refuses_alike(
    demo_client: TestClient,
    demo_database_url: str,
    spoil: Any,
    status: int,
    code: int,
    datapath: str | None,
) -> None:
    before = await counts(demo_database_url, ALL_ORDER_TABLES + QUEUE_TABLES)
    body = tmf_add_order()
    body.setdefault("serviceOrderItem", [{}])
    resp = await demo_client.post(
        TMF_ORDERS,
        data=json.dumps(spoil(body)),
        headers={**auth("integrator"), "Content-Type": "application/json"},
    )
    await _refused(resp, status, code)
    await _nothing_written(demo_database_url, before)


@pytest.mark.parametrize("depth", [600, 1_000])
async def test_a_deep_patch_is_refused_before_the_revision_is_written(
    demo_client: TestClient, demo_database_url: str, depth: int
) -> None:
    """It once committed the revision and then failed to render the reply."""
    before = await counts(demo_database_url, ALL_ORDER_TABLES)
    body = patch_body()
    body["note"] = [{"text": "deep", "extra": "@@DEEP@@"}]
    # Written as text: json.dumps itself cannot nest this deep.
    deep = '{"x":' * depth + "{}" + "}" * depth
    resp = await demo_client.patch(
        f"{ORDERS}/{ORDER_NEW}",
        data=json.dumps(body).replace('"@@DEEP@@"', deep),
        headers={**auth("integrator"), "Content-Type": "application/json"},
    )
    await error_detail(resp, 400, 22)
    assert await counts(demo_database_url, ALL_ORDER_TABLES) == before


@pytest.mark.parametrize(
    "path",
    [
        f"{ORDERS}/%00",
        f"{ORDERS}/abc%00def",
        f"{TMF_ORDERS}/%00",
        "/api/orderhub/inbound/%00",
    ],
)
async def test_a_nul_in_a_path_id_names_nothing(demo_client: TestClient, path: str) -> None:
    resp = await demo_client.get(path, headers=auth("admin"))
    await _refused(resp, 404, 60)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (ORDERS, {"state": "\x00"}),
        (TMF_ORDERS, {"state": "new\x00"}),
        (TMF_ORDERS, {"externalId": "\x00"}),
    ],
)
async def test_a_nul_in_a_query_parameter_is_refused(
    demo_client: TestClient, path: str, query: dict[str, str]
) -> None:
    resp = await demo_client.get(path, params=query, headers=auth("admin"))
    await _refused(resp, 400, 28)


@pytest.mark.parametrize(
    "query",
    [
        {"orderDate.gt": "9999-12-31T23:00:00-14:00"},
        {"orderDate.lt": "0001-01-01T00:00:00+14:00"},
        {"requestedStartDate.gte": "9999-12-31T23:59:59-01:00"},
    ],
)
async def test_a_date_filter_beyond_the_years_held_is_refused(
    demo_client: TestClient, query: dict[str, str]
) -> None:
    resp = await demo_client.get(TMF_ORDERS, params=query, headers=auth("integrator"))
    detail = await _refused(resp, 400, 28)
    assert detail["datapath"] == f"?{next(iter(query))}"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (TMF_ORDERS, {"description": "two\nlines"}),
        (TMF_ORDERS, {"state": "new,\rcompleted"}),
        (TMF_CANCELS, {"cancellationReason": "'two\nlines'"}),
    ],
)
async def test_an_unquoted_line_break_in_a_filter_is_refused(
    demo_client: TestClient, path: str, query: dict[str, str]
) -> None:
    resp = await demo_client.get(path, params=query, headers=auth("integrator"))
    detail = await _refused(resp, 400, 28)
    assert detail["datapath"] == f"?{next(iter(query))}"
    assert "double quotes" in detail["message"]


async def test_a_line_break_in_double_quotes_is_part_of_the_filters_value(
    demo_client: TestClient,
) -> None:
    resp = await demo_client.get(
        TMF_ORDERS, params={"description": '"two\nlines"'}, headers=auth("integrator")
    )
    assert resp.status == 200, await resp.text()
    assert await resp.json() == []

"""Payloads, demo-catalogue ids and database probes shared by the service-order tests."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import SEED_EXAMPLES

ORDERS = "/api/sn_tmf_api/order/serviceOrder"
ALIAS = "/api/sn_tmf_api/serviceorder"
CANCEL = f"{ORDERS}/cancelserviceorder"
CANCEL_ALIAS = "/api/sn_tmf_api/cancelserviceorder"

# Reference records of app/demo/catalog.json.
ACCOUNT = "ffc68911c35420105252716b7d40dd55"
CONTACT = "eaf68911c35420105252716b7d40ddde"
CONSUMER = "59f16de1c3b67110ff00ed23a140dd9e"
HQ = "920cf6ac73d423002728660c4cf6a799"
BRANCH = "5671dd2ec3a53010188473ce3640dd81"
FIREWALL_SPEC = "f99546ff07266010a7955b7e0ad300a8"
FIREWALL_SPEC_V2 = "136c95f3521b79e28e5299a04df805ac"
SDWAN_SPEC = "7374aef12c021c1e6bf47ddceec865c1"
EDGE_SPEC = "e845bb12b2a0176a0ec3820377163165"
LINK_SPEC = "10cdc73583d10cd76d9b92c2e0671987"
ROUTER_SPEC = "af7445691eab4a805bcb04889e70deea"
RETIRED_SPEC = "c440587586a7984911cd804f211ed52b"
OFFERING = "73bd08e4d36cbf5255d2649408591d9f"
INV_ACTIVE = "4b5072aec3a83010abc8b5183c40dd42"  # Managed Firewall v1, active, at HQ
INV_ROUTER = "326d13f45b5620102dff5e92dc81c785"  # Managed Router, active
INV_SUSPENDED = "f3dd83bc94fd300ee47e34216329ffc2"  # SD-WAN, suspended
INV_INACTIVE = "1d7382cfc3aa221ee6a3929d130de861"  # Managed Firewall v1, inactive
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"

# Example orders of the demo catalogue.
ORDER_NEW = "4f2af65ac3a030106e2473ce3640ddcf"
ORDER_IN_PROGRESS = "a831e56e77602110c8b3a4d54b5a9954"
ORDER_TO_CANCEL = "5f4f5e5377a311101fa5a4d54b5a99fd"
ORDER_COMPLETED = "bd30366ec3a83010abc8b5183c40dd92"

# Tables a refused POST must leave alone.
WRITE_TABLES = ("service_order", "order_line_item", "order_characteristic_value", "work_note")
ALL_ORDER_TABLES = (
    "service_order",
    "order_related_party",
    "order_note",
    "order_line_item",
    "order_characteristic_value",
    "order_line_item_contact",
    "order_line_related_item",
    "order_service_relationship",
    "order_external_inventory",
    "work_note",
    "order_revision",
    "order_cancellation",
)


def _example_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SEED_EXAMPLES / f"{name}.json").read_text())["body"]
    return body


def unique_external_id() -> str:
    """A fresh externalId, so that no two orders a test posts look like client retries."""
    return f"T-{uuid.uuid4().hex[:12]}"


def add_order() -> dict[str, Any]:
    """The seed's add example (06_post_add.json): a valid order of one add item."""
    body = copy.deepcopy(_example_body("06_post_add"))
    body["externalId"] = unique_external_id()
    return body


def patch_body() -> dict[str, Any]:
    """The seed's PATCH example (03_patch.json), valid against ORDER_IN_PROGRESS."""
    return copy.deepcopy(_example_body("03_patch"))


def parties() -> list[dict[str, Any]]:
    return copy.deepcopy(add_order()["relatedParty"])


def item(
    action: str,
    item_id: str = "100",
    *,
    inventory: str | None = None,
    spec: str | None = None,
    characteristics: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    service: dict[str, Any] = {"@type": "CFS"}
    if inventory is not None:
        service["id"] = inventory
    if spec is not None:
        service["serviceSpecification"] = {"id": spec, "@type": "ServiceSpecificationRef"}
    if characteristics is not None:
        service["serviceCharacteristic"] = characteristics
    return {
        "id": item_id,
        "action": action,
        "@type": "ServiceOrderItem",
        "service": service,
        **extra,
    }


def order_of(*items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An order with the seed's related parties and the given items."""
    return {
        "externalId": unique_external_id(),
        "@type": "ServiceOrder",
        "serviceOrderItem": list(items),
        "relatedParty": parties(),
        **fields,
    }


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


async def counts(url: str, tables: tuple[str, ...] = WRITE_TABLES) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
    finally:
        await conn.close()


async def fetch(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def execute(url: str, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def order_snapshot(url: str, order_id: str) -> dict[str, Any]:
    """Every row an order owns, to show that a refused request changed nothing."""
    conn = await asyncpg.connect(url)
    try:
        one = "SELECT * FROM service_order WHERE sys_id = $1"
        items = "SELECT * FROM order_line_item WHERE order_id = $1 ORDER BY sys_id"
        children = {
            "order_characteristic_value": "t.line_item, t.position",
            "order_line_item_contact": "t.sys_id",
            "order_line_related_item": "t.line_item, t.related_line_item",
            "order_service_relationship": "t.line_item, t.position",
            "order_external_inventory": "t.line_item, t.external_id",
        }
        snapshot: dict[str, Any] = {
            "order": [dict(r) for r in await conn.fetch(one, order_id)],
            "items": [dict(r) for r in await conn.fetch(items, order_id)],
        }
        for table, order_by in children.items():
            rows = await conn.fetch(
                f"SELECT t.* FROM {table} t JOIN order_line_item i ON i.sys_id = t.line_item "
                f"WHERE i.order_id = $1 ORDER BY {order_by}",
                order_id,
            )
            snapshot[table] = [dict(r) for r in rows]
        for table in ("order_related_party", "order_note", "work_note"):
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE order_id = $1", order_id)
            snapshot[table] = sorted((dict(r) for r in rows), key=repr)
        for table in ("order_revision", "order_cancellation"):
            snapshot[table] = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE order_id = $1", order_id
            )
        return snapshot
    finally:
        await conn.close()


@asynccontextmanager
async def shared_demo_client(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[tuple[TestClient, str]]:
    """A client on one clone of the demo database, for tests that should change nothing."""
    from app.http.app import create_app
    from tests.conftest import _clone, _settings

    async for url in _clone(postgres_admin_url, demo_template_db):
        async for settings in _settings(url, redis_url):
            async with TestClient(TestServer(create_app(settings))) as client:
                yield client, url

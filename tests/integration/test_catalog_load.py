"""Loading the catalogue (catalog.load) into a real database: counts, idempotence, and
references to records of the file or of the database."""

from __future__ import annotations

import copy

import asyncpg
import pytest

from app.domain.catalog import CatalogError
from app.domain.catalog_file import parse_catalog
from app.store import catalog
from tests.helpers.catalog import (
    DEMO_COUNTS,
    MISSING,
    SDWAN,
    Edit,
    demo,
    edit,
    table_counts,
    table_rows,
)


async def test_the_demo_file_loads_with_its_counts(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await catalog.load(conn, parse_catalog(demo())) == DEMO_COUNTS
        assert await table_counts(conn) == DEMO_COUNTS
        spec = await conn.fetchrow(
            "SELECT * FROM service_specification WHERE sys_id = $1",
            "136c95f3521b79e28e5299a04df805ac",
        )
        assert spec["internal_version"] == 2
        assert spec["characteristics"][3] == {
            "name": "Administration Support",
            "value_type": "Choice",
            "options": ["Basic (Customer Managed)"],
        }
        actions = await conn.fetch(
            "SELECT specification, action FROM outbound_policy ORDER BY specification"
        )
        assert ("af7445691eab4a805bcb04889e70deea", "delete") in [tuple(a) for a in actions]
        assert (SDWAN, "") in [tuple(a) for a in actions]
        inventory = await conn.fetchrow(
            "SELECT * FROM product_inventory WHERE sys_id = '326d13f45b5620102dff5e92dc81c785'"
        )
        assert inventory["characteristics"] == {"Router Size": "Medium"}
        assert inventory["state"] == "active"


async def test_loading_twice_changes_nothing_and_an_edit_is_applied(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(demo()))
        before = await table_rows(conn)
        assert await catalog.load(conn, parse_catalog(demo())) == DEMO_COUNTS
        assert await table_rows(conn) == before  # updated_at included: no row was rewritten

        doc = demo()
        doc["accounts"][0]["name"] = "Funco International"
        doc["product_inventory"][0]["state"] = "suspended"
        doc["outbound_policies"][0]["target"] = "TOM"
        await catalog.load(conn, parse_catalog(doc))
        assert await table_counts(conn) == DEMO_COUNTS
        assert await conn.fetchval("SELECT name FROM customer_account") == "Funco International"
        assert (
            await conn.fetchval(
                "SELECT state FROM product_inventory WHERE sys_id = $1",
                "4b5072aec3a83010abc8b5183c40dd42",
            )
            == "suspended"
        )
        assert (
            await conn.fetchval(
                "SELECT target FROM outbound_policy WHERE specification = $1", SDWAN
            )
            == "TOM"
        )


async def test_a_file_may_name_records_loaded_earlier(pool: asyncpg.Pool) -> None:
    doc = demo()
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(doc))
        later = {
            "product_inventory": [
                {
                    "sys_id": "new-inventory",
                    "specification": SDWAN,
                    "location": "920cf6ac73d423002728660c4cf6a799",
                    "state": "active",
                }
            ]
        }
        assert (await catalog.load(conn, parse_catalog(later)))["product_inventory"] == 1
        assert (await table_counts(conn))["product_inventory"] == 5


DANGLING: list[tuple[str, Edit, str]] = [
    (
        "inventory specification",
        edit("product_inventory", 3, specification=MISSING),
        "product_inventory[3] (sys_id 1d7382cfc3aa221ee6a3929d130de861): specification "
        f"'{MISSING}' names no record of specifications, neither in the file nor in the database",
    ),
    (
        "inventory location",
        edit("product_inventory", 0, location=MISSING),
        f"product_inventory[0] (sys_id 4b5072aec3a83010abc8b5183c40dd42): location '{MISSING}' "
        "names no record of locations",
    ),
    (
        "contact account",
        edit("contacts", 0, account=MISSING),
        f"contacts[0] (sys_id eaf68911c35420105252716b7d40ddde): account '{MISSING}' names no "
        "record of accounts",
    ),
    (
        "policy specification",
        edit("outbound_policies", 3, specification=MISSING),
        f"outbound_policies[3] (specification {MISSING}): specification '{MISSING}' names no "
        "record of specifications",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [d[1:] for d in DANGLING], ids=[d[0] for d in DANGLING]
)
async def test_a_dangling_reference_is_named_and_nothing_is_written(
    pool: asyncpg.Pool, change: Edit, message: str
) -> None:
    doc = demo()
    change(doc)
    parsed = parse_catalog(doc)  # references are the database's to check
    async with pool.acquire() as conn:
        before = await table_rows(conn)
        with pytest.raises(CatalogError) as caught:
            await catalog.load(conn, parsed)
        assert message in str(caught.value)
        assert await table_rows(conn) == before
        assert await table_counts(conn) == dict.fromkeys(DEMO_COUNTS, 0)


async def test_a_failed_load_leaves_an_earlier_load_untouched(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(demo()))
        before = await table_rows(conn)
        doc = demo()
        doc["accounts"][0]["name"] = "Renamed"
        doc["locations"].append({"sys_id": "new-location", "name": "New"})
        doc["product_inventory"][3]["account"] = MISSING
        with pytest.raises(CatalogError, match=r"product_inventory\[3\]"):
            await catalog.load(conn, parse_catalog(doc))
        assert await table_rows(conn) == before
        assert await table_counts(conn) == DEMO_COUNTS


async def test_a_version_held_by_another_specification_in_the_database(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(demo()))
        before = await table_rows(conn)
        clash = copy.deepcopy(demo()["specifications"][1])  # version 2 of Managed Firewall
        clash["sys_id"] = "another-v2"
        with pytest.raises(CatalogError) as caught:
            await catalog.load(conn, parse_catalog({"specifications": [clash]}))
        assert str(caught.value).startswith("specifications[0] (sys_id another-v2): ")
        assert "already belongs to another record in the database" in str(caught.value)
        assert await table_rows(conn) == before

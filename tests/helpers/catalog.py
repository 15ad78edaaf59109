"""The demo catalogue file (app/demo/catalog.json): a fresh copy to edit, what it holds, and
the tables it loads into."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.helpers.paths import DEMO_CATALOG

Edit = Callable[[dict[str, Any]], None]

DEMO_COUNTS = {
    "accounts": 1,
    "contacts": 1,
    "consumers": 1,
    "locations": 2,
    "specifications": 8,
    "offerings": 2,
    "product_inventory": 4,
    "outbound_policies": 4,
}
TABLES = {
    "accounts": "customer_account",
    "contacts": "customer_contact",
    "consumers": "consumer",
    "locations": "location",
    "specifications": "service_specification",
    "offerings": "service_offering",
    "product_inventory": "product_inventory",
    "outbound_policies": "outbound_policy",
}
SDWAN = "7374aef12c021c1e6bf47ddceec865c1"
MISSING = "00000000000000000000000000000000"


def demo() -> dict[str, Any]:
    """The demo catalogue file, read afresh: the caller may change it."""
    doc: dict[str, Any] = json.loads(DEMO_CATALOG.read_text())
    return doc


def edit(section: str, index: int, **changes: Any) -> Edit:
    """Sets fields of one record; a value of `...` deletes the field."""

    def apply(doc: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is ...:
                del doc[section][index][key]
            else:
                doc[section][index][key] = value

    return apply


def append_copy(section: str, index: int) -> Edit:
    """Appends a copy of one record to its section."""

    def apply(doc: dict[str, Any]) -> None:
        doc[section].append(copy.deepcopy(doc[section][index]))

    return apply


def set_section(key: str, value: Any) -> Edit:
    def apply(doc: dict[str, Any]) -> None:
        doc[key] = value

    return apply


async def table_counts(conn: Any) -> dict[str, int]:
    return {
        section: await conn.fetchval(f"SELECT count(*) FROM {table}")
        for section, table in TABLES.items()
    }


async def table_rows(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every catalogue table, in a stable order: a snapshot to compare."""
    return {
        table: [tuple(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in TABLES.values()
    }

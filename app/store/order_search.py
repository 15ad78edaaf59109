"""Filtered, paged order lists (the standard flavour's TMF630 queries), done in SQL.

A filter names an API attribute; `ORDER_ATTRIBUTES` maps each filterable attribute to its
column and kind, so no text from a query string ever reaches the SQL. A page costs two
queries (count, ids) plus the fixed number orders.load takes for the whole page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.stored_order import StoredOrder
from app.store import orders
from app.store.db import Connection

KINDS = ("text", "date", "bool")
OPERATORS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Attribute:
    column: str
    kind: str  # one of KINDS


@dataclass(frozen=True)
class Filter:
    """`attribute` `operator` any of `values` (already of the attribute's kind)."""

    attribute: str
    operator: str  # a key of OPERATORS; only dates take other than "eq"
    values: tuple[Any, ...]


ORDER_ATTRIBUTES: Mapping[str, Attribute] = {
    "id": Attribute("sys_id", "text"),
    "externalId": Attribute("external_id", "text"),
    "state": Attribute("state", "text"),
    "category": Attribute("category", "text"),
    "priority": Attribute("priority", "text"),
    "description": Attribute("description", "text"),
    "orderCurrency": Attribute("order_currency", "text"),
    "ponr": Attribute("ponr", "bool"),
    "orderDate": Attribute("order_date", "date"),
    "requestedStartDate": Attribute("requested_start_date", "date"),
    "requestedCompletionDate": Attribute("requested_completion_date", "date"),
    "expectedCompletionDate": Attribute("expected_completion_date", "date"),
    "committedDueDate": Attribute("committed_due_date", "date"),
    "completionDate": Attribute("completion_date", "date"),
}
_ARRAY_TYPES = {"text": "text[]", "date": "timestamptz[]", "bool": "boolean[]"}


def where_clause(
    filters: Sequence[Filter], attributes: Mapping[str, Attribute], *, first_param: int = 1
) -> tuple[str, list[Any]]:
    """`WHERE ...` (or "") and its parameters. Dates compare at the millisecond, as shown."""
    conditions: list[str] = []
    params: list[Any] = []
    for f in filters:
        attribute = attributes[f.attribute]
        column = attribute.column
        if attribute.kind == "date":
            column = f"date_trunc('milliseconds', {column})"
        params.append(list(f.values))
        placeholder = f"${first_param + len(params) - 1}::{_ARRAY_TYPES[attribute.kind]}"
        if f.operator == "eq":
            conditions.append(f"{column} = ANY({placeholder})")
        else:
            conditions.append(f"{column} {OPERATORS[f.operator]} ANY({placeholder})")
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), params


async def search(
    conn: Connection, filters: Sequence[Filter], *, limit: int, offset: int
) -> tuple[int, list[StoredOrder]]:
    """(total matching, the page of orders), newest first, ties broken by id."""
    where, params = where_clause(filters, ORDER_ATTRIBUTES)
    total: int = await conn.fetchval(f"SELECT count(*) FROM service_order {where}", *params)
    n = len(params)
    rows = await conn.fetch(
        f"SELECT sys_id FROM service_order {where} "
        f"ORDER BY order_date DESC, sys_id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
        *params,
        limit,
        offset,
    )
    return total, await orders.load(conn, [row["sys_id"] for row in rows])

"""Reading the order_cancellation table: the CancelServiceOrder resources.

Rows are written by cancel_order (app/store/ordering.py), one per accepted cancel request;
an order is cancelled at most once, so an order has at most one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.store.db import Connection
from app.store.order_search import Attribute, Filter, where_clause

CANCELLATION_ATTRIBUTES: Mapping[str, Attribute] = {
    "id": Attribute("sys_id", "text"),
    "state": Attribute("state", "text"),
    "cancellationReason": Attribute("cancellation_reason", "text"),
    "serviceOrder.id": Attribute("order_id", "text"),
    "requestedCancellationDate": Attribute("requested_cancellation_date", "date"),
    "effectiveCancellationDate": Attribute("created_at", "date"),
}

SELECT_ONE = "SELECT * FROM order_cancellation WHERE sys_id = $1"
SELECT_FOR_ORDERS = """
SELECT DISTINCT ON (order_id) * FROM order_cancellation WHERE order_id = ANY($1)
 ORDER BY order_id, created_at DESC, sys_id DESC
"""


async def get(conn: Connection, cancellation_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_ONE, cancellation_id)
    return dict(row) if row is not None else None


async def for_orders(conn: Connection, order_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The latest cancellation of each order named that has one, by order id; one query."""
    if not order_ids:
        return {}
    rows = await conn.fetch(SELECT_FOR_ORDERS, list(order_ids))
    return {row["order_id"]: dict(row) for row in rows}


async def search(
    conn: Connection, filters: Sequence[Filter], *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """(total matching, the page of rows), newest first, ties broken by id."""
    where, params = where_clause(filters, CANCELLATION_ATTRIBUTES)
    total: int = await conn.fetchval(f"SELECT count(*) FROM order_cancellation {where}", *params)
    n = len(params)
    rows = await conn.fetch(
        f"SELECT * FROM order_cancellation {where} "
        f"ORDER BY created_at DESC, sys_id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
        *params,
        limit,
        offset,
    )
    return total, [dict(row) for row in rows]

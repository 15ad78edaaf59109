"""The reads behind `orderhub order timeline`: every table that keeps something of one order.

The table groups' own reads are used where they exist; the queries here are those only the
timeline needs. Each is one indexed read by the order's id.
"""

from __future__ import annotations

from app.domain.timeline import OrderRecords
from app.store import inbound, operator_actions, orders
from app.store import outbound as outbound_store
from app.store.db import Connection

# An order by its sys_id, else those whose externalId (the ServiceNow number) it is.
FIND_ORDERS = """
SELECT sys_id FROM service_order WHERE sys_id = $1
UNION ALL
SELECT sys_id FROM (SELECT sys_id, order_date FROM service_order
                     WHERE external_id = $1 AND sys_id <> $1
                     ORDER BY order_date, sys_id LIMIT $2) e
"""
ORDER = """
SELECT sys_id, external_id, state, created_by, created_at, traceparent
  FROM service_order WHERE sys_id = $1
"""
CANCELLATIONS = """
SELECT sys_id, state, cancellation_reason, created_by, created_at
  FROM order_cancellation WHERE order_id = $1 ORDER BY created_at, sys_id
"""
FAILURES = """
SELECT request_id, target, numbers, attempts, last_error, given_up, updated_at
  FROM outbound_failure WHERE order_id = $1 ORDER BY updated_at
"""


async def find_orders(conn: Connection, ref: str, *, limit: int = 10) -> list[str]:
    """The order ids `ref` names: its own when it is an order's id, else those of the orders
    with that externalId, oldest first (up to `limit`)."""
    rows = await conn.fetch(FIND_ORDERS, ref, limit)
    return [row["sys_id"] for row in rows]


async def order_records(conn: Connection, order_id: str) -> OrderRecords | None:
    """Everything kept of the order and of its queue entry (an async order's entry has the
    order's id, and is all there is when its processing failed); None when neither exists."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        entry = await inbound.entry(conn, order_id)
        row = await conn.fetchrow(ORDER, order_id)
        if row is None:
            if entry is None:
                return None
            return OrderRecords(
                order_id,
                entry=entry,
                actions=(await operator_actions.of_subjects(conn, [order_id]))[order_id],
            )
        return OrderRecords(
            order_id,
            entry=entry,
            order=dict(row),
            revisions=await orders.revisions(conn, order_id),
            domain_orders=await outbound_store.domain_orders_of_order(conn, order_id),
            outbound=await outbound_store.records_of_order(conn, order_id),
            failures=[dict(r) for r in await conn.fetch(FAILURES, order_id)],
            work_notes=await orders.work_notes(conn, order_id),
            actions=(await operator_actions.of_subjects(conn, [order_id]))[order_id],
            cancellations=[dict(r) for r in await conn.fetch(CANCELLATIONS, order_id)],
        )

"""Deleting an order (the standard flavour's DELETE): only while the state machine allows it.

Child rows (items, characteristics, parties, notes, work notes, ...) go with the order through
their ON DELETE CASCADE foreign keys.
"""

from __future__ import annotations

from app.domain.states import transition
from app.store import orders
from app.store.db import Connection

DELETE_ORDER = "DELETE FROM service_order WHERE sys_id = $1"


async def delete_order(conn: Connection, order_id: str) -> bool:
    """False when there is no such order; ApiError (62) when its state forbids deleting."""
    async with conn.transaction():
        stored = await orders.lock(conn, order_id)
        if stored is None:
            return False
        transition(stored.order["state"], "delete")
        await conn.execute(DELETE_ORDER, order_id)
    return True

"""Orders as the store reads them back, built in memory for the renderers' unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.stored_order import StoredOrder

ORDER_DATE = datetime(2021, 6, 8, 5, 34, 59, tzinfo=UTC)


def stored_order(
    state: str = "new",
    item_states: tuple[str, ...] = ("new",),
    order_id: str = "0" * 32,
    **columns: Any,
) -> StoredOrder:
    """One order with an item per entry of `item_states`; `columns` override the order row."""
    order: dict[str, Any] = {
        "sys_id": order_id,
        "external_id": "BSS748",
        "ponr": False,
        "state": state,
        "version": 1,
        "order_date": ORDER_DATE,
        **columns,
    }
    items = [
        {
            "sys_id": f"item{n}",
            "external_id": str(100 + n),
            "ponr": False,
            "action": "add",
            "state": item_state,
            "version": 1,
        }
        for n, item_state in enumerate(item_states)
    ]
    parties = [{"party_id": "acc1", "name": "Account", "referred_type": "Customer"}]
    notes = [{"author": "integrator", "date": ORDER_DATE, "text": "a note"}]
    return StoredOrder(order=order, parties=parties, notes=notes, items=items)

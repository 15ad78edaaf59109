"""Orders and outbound requests recorded elsewhere (the demo's examples), loaded as recorded."""

from __future__ import annotations

from typing import Any

from app.domain.dates import parse_date
from app.services.orders import create_order
from app.store import orders
from app.store import outbound as outbound_store
from app.store.db import Connection


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


async def import_orders(conn: Connection, documents: list[dict[str, Any]], *, user: str) -> int:
    """Loads orders recorded elsewhere (the demo's example orders) under their own ids.

    Each goes through the same checks as a POST; states, ponr and versions are then set as
    recorded. Orders that already exist are left alone, so loading twice changes nothing.
    """
    created = 0
    for document in documents:
        order_id = document["id"]
        if await orders.exists(conn, order_id):
            continue
        payload = {
            k: v
            for k, v in document.items()
            if k not in ("id", "href", "state", "ponr", "version", "completionDate")
        }
        async with conn.transaction():
            await create_order(
                conn, payload, order_id=order_id, user=user, allow_spec_upgrade=True, keep_ids=True
            )
            raw_completion = document.get("completionDate")
            await orders.set_imported_state(
                conn,
                order_id,
                state=document.get("state", "new"),
                ponr=_flag(document.get("ponr")),
                version=int(document.get("version") or 1),
                completion_date=parse_date(raw_completion) if raw_completion else None,
                items=[
                    (
                        str(item["id"]),
                        item.get("state", "new"),
                        _flag(item.get("ponr")),
                        int(item.get("version") or 1),
                        (item.get("service") or {}).get("id"),
                    )
                    for item in document["serviceOrderItem"]
                ],
            )
        created += 1
    return created


async def import_recorded(conn: Connection, document: dict[str, Any]) -> dict[str, int]:
    """The orders and outbound requests of a catalogue file, as recorded; safe to repeat."""
    counts = {"orders": await import_orders(conn, document.get("orders", []), user="system")}
    if document.get("outbound_requests"):
        counts["outbound_requests"] = await outbound_store.import_records(
            conn, document["outbound_requests"]
        )
    return counts

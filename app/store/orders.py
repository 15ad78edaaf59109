"""The order tables, read and changed: an order with all its rows, its states, notes,
revisions and cancellation. New orders and revisions are written by `order_rows`.

An order reads in a fixed number of queries whatever its size, and a page of orders in the
same number: every child table is read once for all the orders asked for.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from app.domain.stored_order import StoredOrder
from app.store.db import Connection

INSERT_WORK_NOTE = """
INSERT INTO work_note (order_id, line_item, text, author) VALUES ($1, $2, $3, $4)
"""

SELECT_ORDERS = "SELECT * FROM service_order WHERE sys_id = ANY($1)"
SELECT_PARTIES = """
SELECT * FROM order_related_party WHERE order_id = ANY($1) ORDER BY order_id, position
"""
SELECT_NOTES = (
    "SELECT * FROM order_note WHERE order_id = ANY($1) ORDER BY order_id, date DESC, position DESC"
)
SELECT_ITEMS = """
SELECT i.*, s.initial_version AS spec_initial_version, s.name AS spec_name,
       s.internal_version AS spec_internal_version, s.version AS spec_version,
       s.service_type AS spec_service_type, p.external_id AS parent_external_id,
       inv.sys_id AS inventory_sys_id
  FROM order_line_item i
  LEFT JOIN service_specification s ON s.sys_id = i.specification
  LEFT JOIN order_line_item p ON p.sys_id = i.parent_line_item
  LEFT JOIN product_inventory inv ON inv.sys_id = i.inventory
 WHERE i.order_id = ANY($1)
 ORDER BY i.order_id, i.position
"""
SELECT_CHARACTERISTICS = """
SELECT c.* FROM order_characteristic_value c JOIN order_line_item i ON i.sys_id = c.line_item
 WHERE i.order_id = ANY($1) ORDER BY c.line_item, c.position
"""
SELECT_CONTACTS = """
SELECT c.* FROM order_line_item_contact c JOIN order_line_item i ON i.sys_id = c.line_item
 WHERE i.order_id = ANY($1) ORDER BY c.line_item, c.position
"""
SELECT_SERVICE_RELATIONSHIPS = """
SELECT r.* FROM order_service_relationship r JOIN order_line_item i ON i.sys_id = r.line_item
 WHERE i.order_id = ANY($1) ORDER BY r.line_item, r.position
"""
SELECT_EXTERNAL_INVENTORY = """
SELECT e.* FROM order_external_inventory e JOIN order_line_item i ON i.sys_id = e.line_item
 WHERE i.order_id = ANY($1) ORDER BY e.line_item, e.external_id
"""
SELECT_RELATED_ITEMS = """
SELECT r.line_item, r.relationship_type, t.external_id AS related_external_id
  FROM order_line_related_item r
  JOIN order_line_item i ON i.sys_id = r.line_item
  JOIN order_line_item t ON t.sys_id = r.related_line_item
 WHERE i.order_id = ANY($1) ORDER BY r.line_item, t.position
"""


INSERT_REVISION = """
INSERT INTO order_revision (order_id, version, changes, author) VALUES ($1, $2, $3, $4)
"""
SELECT_REVISIONS = """
SELECT version, changes, author, created_at FROM order_revision WHERE order_id = $1
 ORDER BY version
"""
LOCK_ORDER = "SELECT sys_id FROM service_order WHERE sys_id = $1 FOR UPDATE"
SET_ORDER_STATE = """
UPDATE service_order SET state = $2, updated_at = now() WHERE sys_id = $1
"""
SET_ITEM_STATES = "UPDATE order_line_item SET state = $2 WHERE order_id = $1"
INSERT_CANCELLATION = """
INSERT INTO order_cancellation (sys_id, order_id, external_id, cancellation_reason,
                                requested_cancellation_date, state, request, created_by)
VALUES ($1, $2, $3, $4, $5, 'done', $6, $7)
"""


SET_STATE = """
UPDATE service_order
   SET state = $2, ponr = $3, updated_at = now(),
       completion_date = CASE WHEN $2 = 'completed' THEN COALESCE(completion_date, now())
                              ELSE completion_date END
 WHERE sys_id = $1 AND (state, ponr) IS DISTINCT FROM ($2, $3)
"""
SET_ITEM_PROGRESS = """
UPDATE order_line_item i SET state = u.state, ponr = u.ponr
  FROM unnest($1::text[], $2::text[], $3::bool[]) AS u(sys_id, state, ponr)
 WHERE i.sys_id = u.sys_id AND (i.state, i.ponr) IS DISTINCT FROM (u.state, u.ponr)
"""
START_ITEMS = """
UPDATE order_line_item i SET state = 'in_progress'
  FROM domain_order d
 WHERE d.line_item = i.sys_id AND d.sys_id = ANY($1)
   AND i.state IN ('new', 'revision_received', 'error')
"""
DELETE_ORDER = "DELETE FROM service_order WHERE sys_id = $1"


def _group(rows: list[Any], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(dict(row))
    return grouped


async def load(conn: Connection, order_ids: list[str]) -> list[StoredOrder]:
    """The orders asked for, in the order asked, with every child row; unknown ids are skipped."""
    if not order_ids:
        return []
    orders = {row["sys_id"]: dict(row) for row in await conn.fetch(SELECT_ORDERS, order_ids)}
    parties = _group(await conn.fetch(SELECT_PARTIES, order_ids), "order_id")
    notes = _group(await conn.fetch(SELECT_NOTES, order_ids), "order_id")
    items = _group(await conn.fetch(SELECT_ITEMS, order_ids), "order_id")
    chars = _group(await conn.fetch(SELECT_CHARACTERISTICS, order_ids), "line_item")
    contacts = _group(await conn.fetch(SELECT_CONTACTS, order_ids), "line_item")
    service_rels = _group(await conn.fetch(SELECT_SERVICE_RELATIONSHIPS, order_ids), "line_item")
    external = _group(await conn.fetch(SELECT_EXTERNAL_INVENTORY, order_ids), "line_item")
    related = _group(await conn.fetch(SELECT_RELATED_ITEMS, order_ids), "line_item")
    result = []
    for order_id in order_ids:
        if order_id not in orders:
            continue
        order_items = items.get(order_id, [])
        for item in order_items:
            sys_id = item["sys_id"]
            item["characteristics"] = chars.get(sys_id, [])
            item["contacts"] = contacts.get(sys_id, [])
            item["service_relationships"] = service_rels.get(sys_id, [])
            item["external_inventory"] = external.get(sys_id, [])
            item["related_items"] = related.get(sys_id, [])
        result.append(
            StoredOrder(
                orders[order_id], parties.get(order_id, []), notes.get(order_id, []), order_items
            )
        )
    return result


async def get(conn: Connection, order_id: str) -> StoredOrder | None:
    found = await load(conn, [order_id])
    return found[0] if found else None


async def add_work_note(
    conn: Connection, order_id: str, line_item: str | None, text: str, author: str
) -> None:
    await conn.execute(INSERT_WORK_NOTE, order_id, line_item, text, author)


async def lock(conn: Connection, order_id: str) -> StoredOrder | None:
    """The order, locked for the rest of the transaction so that revisions don't interleave."""
    if await conn.fetchval(LOCK_ORDER, order_id) is None:
        return None
    return await get(conn, order_id)


async def record_revision(
    conn: Connection, order_id: str, version: int, changes: dict[str, Any], author: str
) -> None:
    await conn.execute(INSERT_REVISION, order_id, version, changes, author)


async def revisions(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(SELECT_REVISIONS, order_id)]


async def cancel(
    conn: Connection,
    order_id: str,
    request: dict[str, Any],
    *,
    cancellation_id: str,
    reason: str | None,
    requested_date: Any,
    author: str,
) -> None:
    await conn.execute(SET_ORDER_STATE, order_id, "cancelled")
    await conn.execute(SET_ITEM_STATES, order_id, "cancelled")
    await conn.execute(
        INSERT_CANCELLATION,
        cancellation_id,
        order_id,
        request.get("externalId"),
        reason,
        requested_date,
        request,
        author,
    )


EXISTS = "SELECT EXISTS (SELECT 1 FROM service_order WHERE sys_id = $1)"
SET_IMPORTED_ORDER = """
UPDATE service_order SET state = $2, ponr = $3, version = $4, completion_date = $5
 WHERE sys_id = $1
"""
SET_IMPORTED_ITEM = """
UPDATE order_line_item
   SET state = $3, ponr = $4, version = $5, inventory = COALESCE($6, inventory)
 WHERE order_id = $1 AND external_id = $2
"""


async def exists(conn: Connection, order_id: str) -> bool:
    found: bool = await conn.fetchval(EXISTS, order_id)
    return found


async def set_imported_state(
    conn: Connection,
    order_id: str,
    *,
    state: str,
    ponr: bool,
    version: int,
    completion_date: Any,
    items: list[tuple[str, str, bool, int, str | None]],
) -> None:
    """States of an order recorded elsewhere: (item id, state, ponr, version, inventory)."""
    await conn.execute(SET_IMPORTED_ORDER, order_id, state, ponr, version, completion_date)
    await conn.executemany(SET_IMPORTED_ITEM, [(order_id, *item) for item in items])


SELECT_WORK_NOTES = """
SELECT w.id, w.text, w.author, w.created_at, i.external_id AS item_id
  FROM work_note w LEFT JOIN order_line_item i ON i.sys_id = w.line_item
 WHERE w.order_id = $1 ORDER BY w.created_at DESC, w.id DESC
"""


async def work_notes(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """Newest first."""
    return [dict(row) for row in await conn.fetch(SELECT_WORK_NOTES, order_id)]


async def set_state(conn: Connection, order_id: str, state: str, *, ponr: bool) -> None:
    """The order's state and point of no return; completion date set once on completion."""
    await conn.execute(SET_STATE, order_id, state, ponr)


async def set_item_states(
    conn: Connection, item_ids: list[str], states: list[str], ponrs: list[bool]
) -> None:
    await conn.execute(SET_ITEM_PROGRESS, item_ids, states, ponrs)


async def start_items(conn: Connection, domain_orders: list[str]) -> None:
    """The items of domain orders just sent move to in progress, unless already further."""
    await conn.execute(START_ITEMS, domain_orders)


async def delete(conn: Connection, order_id: str) -> None:
    """Child rows go with the order through their ON DELETE CASCADE foreign keys."""
    await conn.execute(DELETE_ORDER, order_id)

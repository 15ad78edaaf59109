"""The order tables, read and changed: an order with all its rows, its states, notes,
revisions and cancellation. New orders and revisions are written by `order_rows`.

An order reads in two queries whatever its size, and a page of orders in the same two: the
orders, then every child table at once for all the orders asked for.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from app.domain.stored_order import StoredOrder
from app.store.db import Connection

INSERT_WORK_NOTE = """
INSERT INTO work_note (order_id, line_item, text, author) VALUES ($1, $2, $3, $4)
"""

SELECT_ORDERS = "SELECT * FROM service_order WHERE sys_id = ANY($1)"
# Everything below the orders, each table as a JSON array, in one round trip (schema.sql).
SELECT_CHILDREN = "SELECT * FROM order_children($1)"
# JSON gives dates as text; these are the child columns that hold one.
_CHILD_DATES = {"notes": ("date",), "items": ("committed_due_date",)}


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


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _children(row: Any, name: str, key: str) -> dict[str, list[dict[str, Any]]]:
    found: list[dict[str, Any]] = row[name] or []
    for column in _CHILD_DATES.get(name, ()):
        for child in found:
            if child[column] is not None:
                child[column] = dt.datetime.fromisoformat(child[column])
    return _group(found, key)


async def load(conn: Connection, order_ids: list[str]) -> list[StoredOrder]:
    """The orders asked for, in the order asked, with every child row; unknown ids are skipped."""
    if not order_ids:
        return []
    orders = {row["sys_id"]: dict(row) for row in await conn.fetch(SELECT_ORDERS, order_ids)}
    if not orders:
        return []
    row = await conn.fetchrow(SELECT_CHILDREN, order_ids)
    parties = _children(row, "parties", "order_id")
    notes = _children(row, "notes", "order_id")
    items = _children(row, "items", "order_id")
    below = {
        name: _children(row, name, "line_item")
        for name in (
            "characteristics",
            "contacts",
            "service_relationships",
            "external_inventory",
            "related_items",
        )
    }
    result = []
    for order_id in order_ids:
        if order_id not in orders:
            continue
        order_items = items.get(order_id, [])
        for item in order_items:
            for name, rows in below.items():
                item[name] = rows.get(item["sys_id"], [])
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

"""The order tables, written: a new order, or a revision, with all its rows.

One statement, executed once, per table whatever the number of orders or items; the caller
holds the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.new_order import NewOrder
from app.domain.stored_order import StoredOrder
from app.store.db import Connection
from app.store.orders import INSERT_WORK_NOTE


def _from_arrays(
    table: str,
    columns: list[tuple[str, str]],
    *,
    fixed: dict[str, str] | None = None,
    tail: str = "",
) -> str:
    """An INSERT of every row of a batch, fed one array per column: one execution per table,
    where a row at a time cost PostgreSQL an executor start, and service_order's statement
    trigger, per row (docs/benchmarks.md). `fixed` are columns given as SQL values."""
    names = [name for name, _ in columns]
    arrays = ", ".join(f"${n}::{sql_type}[]" for n, (_, sql_type) in enumerate(columns, 1))
    target = ", ".join([*names, *(fixed or {})])
    values = ", ".join([*names, *(fixed or {}).values()])
    return (
        f"INSERT INTO {table} ({target})\n"
        f"SELECT {values} FROM unnest({arrays}) AS u({', '.join(names)})\n{tail}"
    )


_TEXT, _DATE, _INT, _BOOL = "text", "timestamptz", "integer", "boolean"
INSERT_ORDER = _from_arrays(
    "service_order",
    [
        ("sys_id", _TEXT),
        ("external_id", _TEXT),
        ("order_date", _DATE),
        ("requested_start_date", _DATE),
        ("requested_completion_date", _DATE),
        ("expected_completion_date", _DATE),
        ("committed_due_date", _DATE),
        ("order_currency", _TEXT),
        ("fulfillment_type", _TEXT),
        ("priority", _TEXT),
        ("description", _TEXT),
        ("category", _TEXT),
        ("account", _TEXT),
        ("consumer", _TEXT),
        ("contact", _TEXT),
        ("type_annotation", _TEXT),
        ("created_by", _TEXT),
        ("traceparent", _TEXT),
    ],
    fixed={"state": "'new'"},
)
INSERT_PARTY = _from_arrays(
    "order_related_party",
    [
        ("order_id", _TEXT),
        ("position", _INT),
        ("party_id", _TEXT),
        ("name", _TEXT),
        ("referred_type", _TEXT),
    ],
)
INSERT_NOTE = _from_arrays(
    "order_note",
    [
        ("order_id", _TEXT),
        ("position", _INT),
        ("note_id", _TEXT),
        ("text", _TEXT),
        ("author", _TEXT),
        ("date", _DATE),
    ],
)
INSERT_ITEM = _from_arrays(
    "order_line_item",
    [
        ("sys_id", _TEXT),
        ("order_id", _TEXT),
        ("external_id", _TEXT),
        ("position", _INT),
        ("action", _TEXT),
        ("action_reason", _TEXT),
        ("quantity", _INT),
        ("state", _TEXT),
        ("committed_due_date", _DATE),
        ("location", _TEXT),
        ("is_move", _BOOL),
        ("specification", _TEXT),
        ("inventory", _TEXT),
        ("service_offering", _TEXT),
        ("service_type_annotation", _TEXT),
        ("service_state", _TEXT),
        ("spec_type_annotation", _TEXT),
        ("place_type_annotation", _TEXT),
        ("type_annotation", _TEXT),
    ],
    tail="""ON CONFLICT (sys_id) DO UPDATE SET
    position = EXCLUDED.position, action = EXCLUDED.action,
    action_reason = EXCLUDED.action_reason, quantity = EXCLUDED.quantity, state = EXCLUDED.state,
    committed_due_date = EXCLUDED.committed_due_date, location = EXCLUDED.location,
    is_move = EXCLUDED.is_move, specification = EXCLUDED.specification,
    inventory = EXCLUDED.inventory, service_offering = EXCLUDED.service_offering,
    service_type_annotation = EXCLUDED.service_type_annotation,
    service_state = EXCLUDED.service_state,
    spec_type_annotation = EXCLUDED.spec_type_annotation,
    place_type_annotation = EXCLUDED.place_type_annotation,
    type_annotation = EXCLUDED.type_annotation, version = order_line_item.version + 1,
    parent_line_item = NULL""",
)
SET_PARENT = """
UPDATE order_line_item i SET parent_line_item = u.parent
  FROM unnest($1::text[], $2::text[]) AS u(sys_id, parent)
 WHERE i.sys_id = u.sys_id
"""
INSERT_CHARACTERISTIC = _from_arrays(
    "order_characteristic_value",
    [
        ("line_item", _TEXT),
        ("position", _INT),
        ("name", _TEXT),
        ("value", _TEXT),
        ("previous_value", _TEXT),
        ("value_type", _TEXT),
    ],
)
INSERT_CONTACT = _from_arrays(
    "order_line_item_contact",
    [
        ("sys_id", _TEXT),
        ("line_item", _TEXT),
        ("position", _INT),
        ("first_name", _TEXT),
        ("last_name", _TEXT),
        ("email", _TEXT),
        ("phone", _TEXT),
        ("referred_type", _TEXT),
    ],
)
INSERT_RELATED_ITEM = _from_arrays(
    "order_line_related_item",
    [("line_item", _TEXT), ("related_line_item", _TEXT), ("relationship_type", _TEXT)],
    tail="ON CONFLICT DO NOTHING",
)
INSERT_SERVICE_RELATIONSHIP = _from_arrays(
    "order_service_relationship",
    [
        ("line_item", _TEXT),
        ("position", _INT),
        ("inventory_ref", _TEXT),
        ("inventory", _TEXT),
        ("relationship_type", _TEXT),
    ],
)
INSERT_EXTERNAL_INVENTORY = _from_arrays(
    "order_external_inventory",
    [("line_item", _TEXT), ("external_id", _TEXT)],
    tail="ON CONFLICT DO NOTHING",
)
UPDATE_ORDER_FOR_REVISION = """
UPDATE service_order
   SET external_id = $2, requested_start_date = $3, requested_completion_date = $4,
       expected_completion_date = $5, committed_due_date = $6, priority = $7,
       description = $8, category = $9, account = $10, consumer = $11, contact = $12,
       type_annotation = $13, state = 'revision_received', version = version + 1,
       updated_at = now()
 WHERE sys_id = $1
"""
DELETE_PARTIES = "DELETE FROM order_related_party WHERE order_id = $1"
DELETE_NOTES = "DELETE FROM order_note WHERE order_id = $1"
DELETE_ITEM_ROWS = [
    f"DELETE FROM {table} WHERE line_item = ANY($1)"
    for table in (
        "order_characteristic_value",
        "order_line_item_contact",
        "order_line_related_item",
        "order_service_relationship",
    )
]


async def _write(conn: Connection, query: str, rows: list[tuple[object, ...]]) -> None:
    """The rows as one array per column, in one execution; nothing when there are none."""
    if rows:
        await conn.execute(query, *[list(column) for column in zip(*rows, strict=True)])


async def insert(conn: Connection, new_orders: list[NewOrder]) -> None:
    """Writes orders and all their rows, one statement per table whatever their number;
    the caller holds the transaction."""
    await _write(
        conn,
        INSERT_ORDER,
        [
            (
                o.sys_id,
                o.external_id,
                o.order_date,
                o.requested_start_date,
                o.requested_completion_date,
                o.expected_completion_date,
                o.committed_due_date,
                o.order_currency,
                o.fulfillment_type,
                o.priority,
                o.description,
                o.category,
                o.account,
                o.consumer,
                o.contact,
                o.type_annotation,
                o.created_by,
                o.traceparent,
            )
            for o in new_orders
        ],
    )
    await _write_parties(conn, new_orders)
    await _write_notes(conn, new_orders)
    await _write_items(conn, new_orders, {}, [_links(o, {}) for o in new_orders])


@dataclass
class _Links:
    parents: list[tuple[str, str]]
    requires: list[tuple[str, str]]


def _links(order: NewOrder, existing: dict[str, str]) -> _Links:
    """Parent and Requires links as sys_id pairs; `existing` maps the order's other items."""
    by_external = {**existing, **{item.external_id: item.sys_id for item in order.items}}
    return _Links(
        parents=[
            (item.sys_id, by_external[item.parent_external_id])
            for item in order.items
            if item.parent_external_id
        ],
        requires=[
            (item.sys_id, by_external[related]) for item in order.items for related in item.requires
        ],
    )


async def _write_parties(conn: Connection, new_orders: list[NewOrder]) -> None:
    await _write(
        conn,
        INSERT_PARTY,
        [
            (o.sys_id, pos, party_id, name, referred)
            for o in new_orders
            for pos, (party_id, name, referred) in enumerate(o.related_parties)
        ],
    )


async def _write_notes(conn: Connection, new_orders: list[NewOrder]) -> None:
    await _write(
        conn,
        INSERT_NOTE,
        [
            (o.sys_id, pos, note_id, text, author, date)
            for o in new_orders
            for pos, (note_id, text, author, date) in enumerate(o.notes)
        ],
    )


async def _write_items(
    conn: Connection,
    new_orders: list[NewOrder],
    states: dict[str, str],
    links: list[_Links],
) -> None:
    """Inserts items, or rewrites those whose sys_id exists (a revision), with their rows."""
    items = [(o, item) for o in new_orders for item in o.items]
    await _write(
        conn,
        INSERT_ITEM,
        [
            (
                item.sys_id,
                o.sys_id,
                item.external_id,
                item.position,
                item.action,
                item.action_reason,
                item.quantity,
                states.get(item.sys_id, "new"),
                item.committed_due_date,
                item.location,
                item.is_move,
                item.specification.sys_id if item.specification else None,
                item.inventory.sys_id if item.inventory else None,
                item.offering,
                item.service_type_annotation,
                item.service_state,
                item.spec_type_annotation,
                item.place_type_annotation,
                item.type_annotation,
            )
            for o, item in items
        ],
    )
    await _write(conn, SET_PARENT, [pair for link in links for pair in link.parents])
    await _write(
        conn,
        INSERT_CHARACTERISTIC,
        [
            (item.sys_id, pos, c.name, c.value, c.previous_value, c.value_type)
            for _, item in items
            for pos, c in enumerate(item.characteristics)
        ],
    )
    await _write(
        conn,
        INSERT_CONTACT,
        [
            (
                c.sys_id,
                item.sys_id,
                pos,
                c.first_name,
                c.last_name,
                c.email,
                c.phone,
                c.referred_type,
            )
            for _, item in items
            for pos, c in enumerate(item.contacts)
        ],
    )
    await _write(
        conn,
        INSERT_RELATED_ITEM,
        [(item, related, "Requires") for link in links for item, related in link.requires],
    )
    await _write(
        conn,
        INSERT_SERVICE_RELATIONSHIP,
        [
            (item.sys_id, pos, ref, inventory, kind)
            for _, item in items
            for pos, (ref, inventory, kind) in enumerate(item.service_relationships)
        ],
    )
    await _write(
        conn,
        INSERT_EXTERNAL_INVENTORY,
        [(item.sys_id, ext) for _, item in items for ext in item.external_inventory],
    )
    await conn.executemany(
        INSERT_WORK_NOTE,
        [
            (o.sys_id, item.sys_id, text, o.created_by)
            for o, item in items
            for text in item.work_notes
        ],
    )


async def revise(
    conn: Connection,
    stored: StoredOrder,
    revised: NewOrder,
    *,
    replace_notes: bool,
) -> None:
    """Applies a revision: matched items keep their sys_id; the caller holds the transaction."""
    existing = {item["external_id"]: item["sys_id"] for item in stored.items}
    positions = {item["external_id"]: item["position"] for item in stored.items}
    next_position = max(positions.values(), default=-1) + 1
    for item in revised.items:
        item.sys_id = existing.get(item.external_id, item.sys_id)
        if item.external_id in positions:
            item.position = positions[item.external_id]
        else:
            item.position, next_position = next_position, next_position + 1
    await conn.execute(
        UPDATE_ORDER_FOR_REVISION,
        revised.sys_id,
        revised.external_id,
        revised.requested_start_date,
        revised.requested_completion_date,
        revised.expected_completion_date,
        revised.committed_due_date,
        revised.priority,
        revised.description,
        revised.category,
        revised.account,
        revised.consumer,
        revised.contact,
        revised.type_annotation,
    )
    await conn.execute(DELETE_PARTIES, revised.sys_id)
    await _write_parties(conn, [revised])
    if replace_notes:
        await conn.execute(DELETE_NOTES, revised.sys_id)
        await _write_notes(conn, [revised])
    revised_ids = [i.sys_id for i in revised.items if i.external_id in existing]
    for query in DELETE_ITEM_ROWS:
        await conn.execute(query, revised_ids)
    states = {sys_id: "revision_received" for sys_id in revised_ids}
    await _write_items(conn, [revised], states, [_links(revised, existing)])

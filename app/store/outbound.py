"""The domain_order and outbound_request tables, and the order changes fulfilment causes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.catalog import Policy
from app.domain.decomposition import DomainOrderPlan
from app.domain.outbound import DomainOrder, Group
from app.store.db import Connection

# A batch's domain orders in one execution, fed one array per column (docs/benchmarks.md).
INSERT_DOMAIN_ORDERS = """
INSERT INTO domain_order (sys_id, order_id, line_item, parent)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
"""
SELECT_DOMAIN_ORDERS = """
SELECT d.sys_id, d.parent, d.line_item, d.fulfillment_state, d.updates_available,
       s.initial_version AS specification, i.action, i.external_id AS item_id,
       EXISTS (SELECT 1 FROM outbound_request r
                WHERE r.domain_order = d.sys_id
                  AND r.state IN ('not_applicable', 'pending')) AS has_active_record,
       EXISTS (SELECT 1 FROM outbound_request r
                WHERE r.domain_order = d.sys_id AND r.state = 'not_applicable')
         AS has_unsent_record,
       (SELECT r.request_id FROM outbound_request r WHERE r.domain_order = d.sys_id
         ORDER BY r.created_at DESC LIMIT 1) AS last_request_id
  FROM domain_order d
  JOIN order_line_item i ON i.sys_id = d.line_item
  LEFT JOIN service_specification s ON s.sys_id = i.specification
 WHERE d.order_id = $1
 ORDER BY i.position
"""
SELECT_POLICIES = "SELECT specification, action, hierarchical, target FROM outbound_policy"
LOCK_ORDER = "SELECT state FROM service_order WHERE sys_id = $1 FOR UPDATE"
INSERT_RECORDS = """
INSERT INTO outbound_request (request_id, state, source_record, domain_order, target,
                              previous_request_id)
SELECT r.request_id, 'not_applicable', $1, r.domain_order, r.target, r.previous
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
       AS r(request_id, domain_order, target, previous)
RETURNING number, request_id, domain_order
"""
RECORD_COLUMNS = """
number, state, request_id, source_record, table_name, domain_order, target,
previous_request_id, attempts, response, created_at, updated_at
"""
RECORDS_OF_ORDER = f"""
SELECT {RECORD_COLUMNS} FROM outbound_request WHERE source_record = $1
 ORDER BY created_at DESC, number DESC
"""
RECORD_BY_NUMBER = f"SELECT {RECORD_COLUMNS} FROM outbound_request WHERE number = $1"
RECORDS_OF_REQUEST = f"""
SELECT {RECORD_COLUMNS} FROM outbound_request WHERE request_id = $1 ORDER BY number
"""
DOMAIN_ORDERS_OF_ORDER = """
SELECT d.sys_id, d.parent, d.fulfillment_state, d.updates_available, d.created_at,
       d.updated_at, i.external_id AS item_id
  FROM domain_order d JOIN order_line_item i ON i.sys_id = d.line_item
 WHERE d.order_id = $1 ORDER BY i.position
"""


async def decompose(conn: Connection, plans: list[tuple[str, DomainOrderPlan]]) -> None:
    """Writes domain orders, (order id, plan) each, for any number of orders at once."""
    if plans:
        await conn.execute(
            INSERT_DOMAIN_ORDERS,
            [p.sys_id for _, p in plans],
            [order_id for order_id, _ in plans],
            [p.line_item for _, p in plans],
            [p.parent for _, p in plans],
        )


async def lock_order_state(conn: Connection, order_id: str) -> str | None:
    state: str | None = await conn.fetchval(LOCK_ORDER, order_id)
    return state


async def domain_orders(conn: Connection, order_id: str) -> list[DomainOrder]:
    return [
        DomainOrder(
            row["sys_id"],
            row["parent"],
            row["specification"],
            row["action"],
            row["fulfillment_state"],
            row["updates_available"],
            row["has_active_record"],
            row["last_request_id"],
            row["has_unsent_record"],
        )
        for row in await conn.fetch(SELECT_DOMAIN_ORDERS, order_id)
    ]


async def policies(conn: Connection) -> list[Policy]:
    return [
        Policy(r["specification"], r["action"], r["hierarchical"], r["target"])
        for r in await conn.fetch(SELECT_POLICIES)
    ]


async def insert_records(
    conn: Connection, order_id: str, groups: list[Group]
) -> list[dict[str, Any]]:
    rows = [
        (g.request_id, d, g.target, g.previous_request_id) for g in groups for d in g.domain_orders
    ]
    inserted = await conn.fetch(INSERT_RECORDS, order_id, *map(list, zip(*rows, strict=True)))
    return [dict(row) for row in inserted]


async def records_of_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(RECORDS_OF_ORDER, order_id)]


async def record(conn: Connection, number: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(RECORD_BY_NUMBER, number)
    return None if row is None else dict(row)


async def records_of_request(conn: Connection, request_id: str) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(RECORDS_OF_REQUEST, request_id)]


async def domain_orders_of_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(DOMAIN_ORDERS_OF_ORDER, order_id)]


DECOMPOSE_NEW_ITEMS = """
INSERT INTO domain_order (sys_id, order_id, line_item)
SELECT replace(gen_random_uuid()::text, '-', ''), i.order_id, i.sys_id
  FROM order_line_item i
 WHERE i.order_id = $1 AND NOT EXISTS (SELECT 1 FROM domain_order d WHERE d.line_item = i.sys_id)
"""
RELINK_PARENTS = """
UPDATE domain_order d SET parent = p.sys_id
  FROM order_line_item i LEFT JOIN domain_order p ON p.line_item = i.parent_line_item
 WHERE d.line_item = i.sys_id AND i.order_id = $1 AND d.parent IS DISTINCT FROM p.sys_id
"""
MARK_UPDATES = """
UPDATE domain_order d SET updates_available = true, updated_at = now()
 WHERE d.order_id = $1 AND d.line_item = ANY($2)
   AND EXISTS (SELECT 1 FROM outbound_request r WHERE r.source_record = $1)
"""


async def after_revision(conn: Connection, order_id: str, revised_items: list[str]) -> None:
    """Domain orders for items a revision added, and "updates available" on those revised,
    once the order has been sent for fulfilment."""
    await conn.execute(DECOMPOSE_NEW_ITEMS, order_id)
    await conn.execute(RELINK_PARENTS, order_id)
    await conn.execute(MARK_UPDATES, order_id, revised_items)


MARK_PENDING = """
UPDATE outbound_request SET state = 'pending', attempts = $2, updated_at = clock_timestamp()
 WHERE request_id = $1 AND state = 'not_applicable'
RETURNING number, domain_order, source_record
"""
CLEAR_UPDATES = """
UPDATE domain_order SET updates_available = false, updated_at = now()
 WHERE sys_id = ANY($1) AND updates_available
"""
DELETE_UNSENT = """
DELETE FROM outbound_request WHERE request_id = $1 AND state = 'not_applicable'
RETURNING number, source_record
"""
COUNT_ATTEMPT = """
UPDATE outbound_request
   SET attempts = attempts + 1, updated_at = clock_timestamp(), next_attempt_at = NULL,
       first_attempt_at = coalesce(first_attempt_at, clock_timestamp())
 WHERE request_id = $1 AND state = 'not_applicable'
RETURNING attempts, extract(epoch FROM clock_timestamp() - first_attempt_at)::float8 AS since_first
"""
DUE = """
SELECT r.target, o.sys_id AS order_id, o.state AS order_state, o.traceparent,
       extract(epoch FROM max(r.next_attempt_at) - clock_timestamp())::float8 AS due_in
  FROM outbound_request r JOIN service_order o ON o.sys_id = r.source_record
 WHERE r.request_id = $1 AND r.state = 'not_applicable'
 GROUP BY r.target, o.sys_id, o.state, o.traceparent
"""
DEFER = """
UPDATE outbound_request SET next_attempt_at = clock_timestamp() + make_interval(secs => $2)
 WHERE request_id = $1 AND state = 'not_applicable'
"""
UNSENT_FOR_SWEEP = """
UPDATE outbound_request SET enqueued_at = clock_timestamp()
 WHERE request_id IN (SELECT DISTINCT request_id FROM outbound_request
                       WHERE state = 'not_applicable'
                         AND greatest(enqueued_at, next_attempt_at)
                             < clock_timestamp() - make_interval(secs => $1)
                       LIMIT $2)
RETURNING request_id
"""
SWEEP_LOCK = "SELECT pg_try_advisory_xact_lock(7411643)"
KNOWN_REQUEST = "SELECT EXISTS (SELECT 1 FROM outbound_request WHERE request_id = $1)"
EXISTING_DOMAIN_ORDERS = "SELECT sys_id FROM domain_order WHERE sys_id = ANY($1)"
ASSOCIATED = """
SELECT domain_order FROM outbound_request WHERE request_id = $1 AND domain_order = ANY($2)
"""
SET_RECORD_STATES = """
UPDATE outbound_request r SET state = i.state, response = $3, updated_at = clock_timestamp()
  FROM unnest($2::text[], $4::text[]) AS i(domain_order, state)
 WHERE r.request_id = $1 AND r.domain_order = i.domain_order
   AND (r.state, r.response) IS DISTINCT FROM (i.state, $3::jsonb)
"""
SET_DOMAIN_STATES = """
UPDATE domain_order d SET fulfillment_state = i.state, updated_at = now()
  FROM unnest($1::text[], $2::text[]) AS i(sys_id, state)
 WHERE d.sys_id = i.sys_id AND d.fulfillment_state IS DISTINCT FROM i.state
   AND $3 = (SELECT r.request_id FROM outbound_request r WHERE r.domain_order = d.sys_id
              ORDER BY r.created_at DESC, r.number DESC LIMIT 1)
"""
LOCK_ORDERS_OF_DOMAIN_ORDERS = """
SELECT o.sys_id FROM service_order o
 WHERE o.sys_id IN (SELECT d.order_id FROM domain_order d WHERE d.sys_id = ANY($1))
 ORDER BY o.sys_id
   FOR UPDATE
"""
ORDER_PROGRESS = """
SELECT o.sys_id AS order_id, o.state AS order_state, o.account, i.sys_id AS item,
       i.state AS item_state, i.action, i.inventory, i.specification, i.location,
       i.external_id AS item_id, i.ponr AS item_ponr, s.ponr_state, d.fulfillment_state
  FROM service_order o
  JOIN order_line_item i ON i.order_id = o.sys_id
  JOIN domain_order d ON d.line_item = i.sys_id
  LEFT JOIN service_specification s ON s.sys_id = i.specification
 WHERE o.sys_id = $1
 ORDER BY i.position
 FOR UPDATE OF o
"""


async def mark_pending(conn: Connection, request_id: str, attempts: int) -> list[dict[str, Any]]:
    rows = [dict(r) for r in await conn.fetch(MARK_PENDING, request_id, attempts)]
    await clear_updates(conn, [r["domain_order"] for r in rows])
    return rows


async def clear_updates(conn: Connection, domain_orders: list[str]) -> None:
    """The revision went out: no updates are waiting any more."""
    await conn.execute(CLEAR_UPDATES, domain_orders)


async def delete_unsent(conn: Connection, request_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(DELETE_UNSENT, request_id)]


async def count_attempt(conn: Connection, request_id: str) -> tuple[int, float] | None:
    """(attempts made with this one, seconds since the first of them), None when nothing is
    left to send; the first attempt's time is kept from then on."""
    row = await conn.fetchrow(COUNT_ATTEMPT, request_id)
    return None if row is None else (row["attempts"], row["since_first"])


@dataclass(frozen=True)
class Due:
    """What a send job reads before it renders the order, so that a send that must wait
    costs little."""

    target: str
    order_id: str
    order_state: str
    due_in: float  # seconds until the request may go, by the database's clock; 0 or less: now
    traceparent: str | None  # the order's, which the send continues


async def due(conn: Connection, request_id: str) -> Due | None:
    """None when nothing is left to send."""
    row = await conn.fetchrow(DUE, request_id)
    if row is None:
        return None
    return Due(
        row["target"],
        row["order_id"],
        row["order_state"],
        row["due_in"] or 0.0,
        row["traceparent"],
    )


async def defer(conn: Connection, request_id: str, seconds: float) -> None:
    """An unsent request goes again in `seconds`, not before: the sweeper waits for then too."""
    await conn.execute(DEFER, request_id, seconds)


async def unsent_for_sweep(conn: Connection, *, older_than: float, limit: int) -> list[str] | None:
    async with conn.transaction():
        if not await conn.fetchval(SWEEP_LOCK):
            return None
        return sorted(
            {r["request_id"] for r in await conn.fetch(UNSENT_FOR_SWEEP, older_than, limit)}
        )


async def callback_facts(
    conn: Connection, request_id: str, domain_orders: list[str]
) -> tuple[bool, set[str], set[str]]:
    """(request id known, domain orders that exist, those associated with the request)."""
    known: bool = await conn.fetchval(KNOWN_REQUEST, request_id)
    existing = {r["sys_id"] for r in await conn.fetch(EXISTING_DOMAIN_ORDERS, domain_orders)}
    associated = {
        r["domain_order"] for r in await conn.fetch(ASSOCIATED, request_id, domain_orders)
    }
    return known, existing, associated


ORDERS_OF_DOMAIN_ORDERS = """
SELECT DISTINCT order_id FROM domain_order WHERE sys_id = ANY($1) ORDER BY order_id
"""


async def orders_of(conn: Connection, domain_orders: list[str]) -> list[str]:
    """The orders the domain orders belong to, read without a lock."""
    return [r["order_id"] for r in await conn.fetch(ORDERS_OF_DOMAIN_ORDERS, domain_orders)]


async def lock_orders_of(conn: Connection, domain_orders: list[str]) -> list[str]:
    """Locks the orders the domain orders belong to, in one order (no deadlock between two
    callbacks), so that callbacks of one order apply one after the other; returns their ids."""
    return [r["sys_id"] for r in await conn.fetch(LOCK_ORDERS_OF_DOMAIN_ORDERS, domain_orders)]


async def apply_states(
    conn: Connection, request_id: str, items: list[tuple[str, str]], response: dict[str, Any]
) -> None:
    """Moves records and domain orders; a repeated callback changes nothing. A domain order
    follows only its latest request: a late answer to a request since revised (or initiated
    again) is kept on its record but doesn't undo what the newer request reported."""
    ids = [d for d, _ in items]
    states = [s for _, s in items]
    await conn.execute(SET_RECORD_STATES, request_id, ids, response, states)
    await conn.execute(SET_DOMAIN_STATES, ids, states, request_id)


async def order_progress(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """Every item of the order with its domain order's state, the order row locked."""
    return [dict(r) for r in await conn.fetch(ORDER_PROGRESS, order_id)]


RECORD_EXISTS = "SELECT EXISTS (SELECT 1 FROM outbound_request WHERE number = $1)"
RENAME_FIRST_DOMAIN_ORDER = """
UPDATE domain_order SET sys_id = $2, fulfillment_state = $3
 WHERE sys_id = (SELECT d.sys_id FROM domain_order d JOIN order_line_item i
                   ON i.sys_id = d.line_item
                  WHERE d.order_id = $1 ORDER BY i.position LIMIT 1)
"""
INSERT_IMPORTED_RECORD = """
INSERT INTO outbound_request (number, request_id, state, source_record, domain_order, target)
VALUES ($1, $2, $3, $4, $5, $6)
"""


async def import_records(conn: Connection, documents: list[dict[str, Any]]) -> int:
    """Outbound requests recorded elsewhere (the demo's): the order's first domain order takes
    the recorded id. Records that exist are left alone."""
    imported = 0
    for doc in documents:
        if await conn.fetchval(RECORD_EXISTS, doc["number"]):
            continue
        domain_state = doc["state"] if doc["state"] != "not_applicable" else "not_started"
        await conn.execute(
            RENAME_FIRST_DOMAIN_ORDER, doc["order"], doc["domain_order"], domain_state
        )
        await conn.execute(
            INSERT_IMPORTED_RECORD,
            doc["number"],
            doc["request_id"],
            doc["state"],
            doc["order"],
            doc["domain_order"],
            doc["target"],
        )
        imported += 1
    return imported


COUNTS_BY_STATE = "SELECT state, count(*) AS n FROM outbound_request GROUP BY state"


async def counts_by_state(conn: Connection) -> dict[str, int]:
    """Records per state (index outbound_request_state), every state present, zero or not."""
    counts = dict.fromkeys(("not_applicable", "pending", "fulfilled", "error"), 0)
    for row in await conn.fetch(COUNTS_BY_STATE):
        counts[row["state"]] = row["n"]
    return counts

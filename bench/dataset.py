"""Orders by the hundred thousand, made in SQL from the demo's recorded orders.

Reads only show how they scale on tables of realistic size and shape, and making a million
orders through the API would take the better part of an hour. So the demo's recorded orders
(`app/demo/catalog.json`: line items with characteristics, contacts and service relationships,
related parties, notes, domain orders, an outbound request) are the templates, and each copy
is every row of every template with its keys rewritten: `md5(key || ':' || copy)`, so copies
are distinct, 32-hex like real ids, and their references stay inside the copy. Dates move back
`STEP` per copy, so the list pages over a realistic spread, and states follow a fixed mix.

One database per size (`orderhub_reads_<orders>`), kept after the run: the next run finds it
filled (`bench_dataset` says how many copies it holds), brings its schema up to date with the
product's migrations and reuses it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from app.cli.database import prepare_database
from app.store import order_counts, schema

CHUNK_COPIES = 5_000
STEP = "30 seconds"
# The mix of states the copies are given, by copy number modulo its length.
STATE_MIX = ("completed",) * 6 + ("in_progress",) * 2 + ("new", "cancelled")
_COPY = "md5(t.sys_id || ':' || g)"
_STATE = f"(ARRAY{list(STATE_MIX)!r}::text[])[1 + g % {len(STATE_MIX)}]"
_SERIES = "CROSS JOIN generate_series($1::int, $2::int) AS g"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Table:
    """How one table's rows are copied: which columns hold keys of the copied rows, which are
    dates to move back, which are left to their defaults, and how its template rows are
    found (a condition on `src`)."""

    name: str
    template: str
    keys: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    defaults: tuple[str, ...] = ()
    special: dict[str, str] = field(default_factory=dict)


_IN_ORDERS = "src.{} IN (SELECT sys_id FROM bench_template_order)"
_IN_ITEMS = "src.line_item IN (SELECT sys_id FROM bench_template_item)"

TABLES: Sequence[Table] = (
    Table(
        "service_order",
        _IN_ORDERS.format("sys_id"),
        keys=("sys_id",),
        dates=("order_date", "created_at", "updated_at"),
        special={
            "external_id": "src.external_id || '-' || g",
            "state": _STATE,
        },
    ),
    Table("order_related_party", _IN_ORDERS.format("order_id"), keys=("order_id",)),
    Table("order_note", _IN_ORDERS.format("order_id"), keys=("order_id",)),
    Table(
        "order_line_item",
        _IN_ORDERS.format("order_id"),
        keys=("sys_id", "order_id", "parent_line_item"),
    ),
    Table("order_characteristic_value", _IN_ITEMS, keys=("line_item",)),
    Table("order_line_item_contact", _IN_ITEMS, keys=("sys_id", "line_item")),
    Table("order_line_related_item", _IN_ITEMS, keys=("line_item", "related_line_item")),
    Table("order_service_relationship", _IN_ITEMS, keys=("line_item",)),
    Table("order_external_inventory", _IN_ITEMS, keys=("line_item",)),
    Table(
        "work_note",
        _IN_ORDERS.format("order_id"),
        keys=("order_id", "line_item"),
        dates=("created_at",),
        defaults=("id",),
    ),
    Table(
        "order_revision",
        _IN_ORDERS.format("order_id"),
        keys=("order_id",),
        dates=("created_at",),
        defaults=("id",),
    ),
    Table(
        "domain_order",
        _IN_ORDERS.format("order_id"),
        keys=("sys_id", "order_id", "line_item", "parent"),
        dates=("created_at", "updated_at"),
    ),
    Table(
        "outbound_request",
        _IN_ORDERS.format("source_record"),
        keys=("request_id", "source_record", "domain_order", "previous_request_id"),
        dates=("enqueued_at", "created_at", "updated_at"),
        defaults=("number",),
    ),
)

# Rows the templates lack but a live system holds: the queue's record of each async order, a
# cancellation per cancelled order, and on some copies external inventory and related items.
EXTRAS: Sequence[str] = (
    f"""INSERT INTO inbound_processed (id, state, payload, received_at, processed_at,
                                       created_by, attempts, order_id)
        SELECT {_COPY}, 'done', jsonb_build_object('externalId', t.external_id || '-' || g),
               t.order_date - g * interval '{STEP}',
               t.order_date - g * interval '{STEP}' + interval '50 milliseconds',
               t.created_by, 1, {_COPY}
          FROM bench_template_service_order t {_SERIES}""",
    f"""INSERT INTO order_cancellation (sys_id, order_id, cancellation_reason, state, request,
                                        created_by, created_at)
        SELECT md5('cancellation:' || {_COPY}), {_COPY}, 'Customer request', 'done',
               '{{}}'::jsonb, t.created_by, t.order_date - g * interval '{STEP}' + interval '1 hour'
          FROM bench_template_service_order t {_SERIES} WHERE {_STATE} = 'cancelled'""",
    f"""INSERT INTO order_external_inventory (line_item, external_id)
        SELECT {_COPY}, 'EXT-' || g FROM bench_template_order_line_item t {_SERIES}
         WHERE g % 4 = 0""",
    f"""INSERT INTO order_line_related_item (line_item, related_line_item, relationship_type)
        SELECT md5(a.sys_id || ':' || g), md5(b.sys_id || ':' || g), 'Requires'
          FROM bench_template_order_line_item a
          JOIN bench_template_order_line_item b ON b.sys_id > a.sys_id {_SERIES}
         WHERE g % 5 = 0""",
)

SET_UP = """
CREATE TABLE IF NOT EXISTS bench_dataset (copies integer NOT NULL);
CREATE TABLE IF NOT EXISTS bench_template_order AS SELECT sys_id FROM service_order;
CREATE TABLE IF NOT EXISTS bench_template_item AS
    SELECT sys_id FROM order_line_item
     WHERE order_id IN (SELECT sys_id FROM bench_template_order);
"""
# Each template gets a work note per copy, so the notes tab and its index have rows to read.
TEMPLATE_NOTES = """
INSERT INTO work_note (order_id, text, author, created_at)
SELECT sys_id, 'Order received and validated.', 'system', order_date + interval '1 minute'
  FROM service_order WHERE sys_id IN (SELECT sys_id FROM bench_template_order)
   AND NOT EXISTS (SELECT 1 FROM work_note w WHERE w.order_id = service_order.sys_id)
"""


def database_name(orders: int) -> str:
    return f"orderhub_reads_{orders}"


async def _columns(conn: asyncpg.Connection[Any], table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [row["column_name"] for row in rows]


def copy_statement(table: Table, columns: Sequence[str]) -> str:
    """INSERT ... SELECT of every template row of `table` once per copy $1..$2."""
    kept = [c for c in columns if c not in table.defaults]
    values = []
    for column in kept:
        if column in table.special:
            values.append(table.special[column])
        elif column in table.keys:
            values.append(f"md5(src.{column} || ':' || g)")
        elif column in table.dates:
            values.append(f"src.{column} - g * interval '{STEP}'")
        else:
            values.append(f"src.{column}")
    return (
        f"INSERT INTO {table.name} ({', '.join(kept)}) SELECT {', '.join(values)}"
        f" FROM bench_template_{table.name} src CROSS JOIN generate_series($1::int, $2::int) AS g"
    )


def template_statement(table: Table) -> str:
    """The template rows of `table` set aside once, so that copying never reads the table it
    grows."""
    return (
        f"CREATE TABLE IF NOT EXISTS bench_template_{table.name} AS"
        f" SELECT * FROM {table.name} src WHERE {table.template}"
    )


async def copies_held(conn: asyncpg.Connection[Any]) -> int:
    exists = await conn.fetchval("SELECT to_regclass('bench_dataset') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(max(copies), 0) FROM bench_dataset"))


async def templates(conn: asyncpg.Connection[Any]) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM bench_template_order"))


async def fill(conn: asyncpg.Connection[Any], orders: int, say: Say) -> dict[str, Any]:
    """Copies until the database holds about `orders` orders; returns what it did."""
    await conn.execute(SET_UP)
    await conn.execute(TEMPLATE_NOTES)
    for table in TABLES:
        await conn.execute(template_statement(table))
    per_copy = await templates(conn)
    wanted = max(1, orders // per_copy - 1)
    held = await copies_held(conn)
    statements = [(t.name, copy_statement(t, await _columns(conn, t.name))) for t in TABLES]
    started = time.monotonic()
    await conn.execute("SET synchronous_commit = off")
    # The copies' references hold by construction: checking each row's foreign keys would
    # cost more than writing it. Only a superuser may skip them; others just wait longer.
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("SET session_replication_role = replica")
    first = held + 1
    while first <= wanted:
        last = min(wanted, first + CHUNK_COPIES - 1)
        async with conn.transaction():
            for _name, statement in statements:
                await conn.execute(statement, first, last)
            for statement in EXTRAS:
                await conn.execute(statement, first, last)
            await conn.execute("DELETE FROM bench_dataset")
            await conn.execute("INSERT INTO bench_dataset VALUES ($1)", last)
        took = time.monotonic() - started
        say(
            f"reads: {(last + 1) * per_copy:,} of {orders:,} orders made"
            f" ({(last - held) * per_copy / max(took, 0.001):,.0f} orders/s)"
        )
        first = last + 1
    await conn.execute("RESET session_replication_role")
    made = max(0, wanted - held) * per_copy
    if made:
        # With the triggers off, the kept counts missed the copies.
        await order_counts.rebuild(conn)
        say("reads: VACUUM ANALYZE (the planner and index-only scans need it)")
        await conn.execute("VACUUM ANALYZE")
    return {"orders_made": made, "seconds": round(time.monotonic() - started, 1)}


async def prepare(admin_dsn: str, dsn: str, orders: int, say: Say) -> dict[str, Any]:
    """The database of `orders` orders at `dsn`: created, migrated and filled as needed."""
    name = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(admin_dsn)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            say(f"reads: creating database {name}")
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await prepare_database(dsn, demo=True)
    conn = await asyncpg.connect(dsn)
    try:
        done = await fill(conn, orders, say)
        done["orders"] = int(await conn.fetchval("SELECT count(*) FROM service_order"))
        done["schema_versions"] = await schema.applied(conn)
        return done
    finally:
        await conn.close()

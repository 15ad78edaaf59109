"""Migrations: from nothing they build exactly schema.sql, and they upgrade a database made by
the schema.sql that came before them without losing a row."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from app.domain.catalog_file import parse_catalog
from app.services.recorded import import_recorded
from app.store import catalog, db, order_counts, orders, schema
from tests.helpers.paths import DEMO_CATALOG, SCHEMA_BEFORE_MIGRATIONS, SCHEMA_SQL

# Everything about the schema that a migration could get wrong, as comparable text.
SNAPSHOT = {
    "columns": """
        SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,
               is_identity, identity_generation, character_maximum_length
          FROM information_schema.columns WHERE table_schema = 'public'""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid),
               pg_get_function_result(p.oid), p.prosrc, p.proconfig::text, p.provolatile
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public'""",
    "relations": """
        SELECT c.relname, c.relkind, c.reloptions::text FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'm')""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "sequences": """
        SELECT sequencename, start_value, increment_by, min_value, max_value, cycle
          FROM pg_sequences WHERE schemaname = 'public'""",
}


async def snapshot(conn: asyncpg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: sorted([tuple(row) for row in await conn.fetch(query)], key=repr)
        for name, query in SNAPSHOT.items()
    }


async def _picture(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The schema schema.sql draws, applied as it is to an empty database."""
    conn = await db.connect(url)
    try:
        await conn.execute(SCHEMA_SQL.read_text())
        return await snapshot(conn)
    finally:
        await conn.close()


async def test_migrating_an_empty_database_gives_schema_sql(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    conn = await db.connect(await new_database())
    try:
        applied = await schema.migrate(conn)
        migrated = await snapshot(conn)
        assert [m.version for m in applied] == [m.version for m in schema.migrations()]
        assert await schema.applied(conn) == [m.version for m in applied]
    finally:
        await conn.close()
    pictured = await _picture(await new_database())
    for part in SNAPSHOT:
        assert migrated[part] == pictured[part], part


async def test_migrate_again_applies_nothing(database_url: str) -> None:
    conn = await db.connect(database_url)
    try:
        assert await schema.migrate(conn) == []
        assert not await schema.is_empty(conn)
    finally:
        await conn.close()


async def test_concurrent_migrations_apply_each_once(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    url = await new_database()
    conns = [await db.connect(url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(schema.migrate(c) for c in conns))
        applied = sorted(m.version for result in results for m in result)
        assert applied == [m.version for m in schema.migrations()]
        recorded = await conns[0].fetch("SELECT version FROM schema_migration")
        assert len(recorded) == len(applied)
    finally:
        for c in conns:
            await c.close()


async def _counts(conn: asyncpg.Connection[Any]) -> dict[str, int]:
    tables = [
        r["tablename"]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'schema_migration'"
        )
    ]
    return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in sorted(tables)}


def _migration(name: str) -> schema.Migration:
    return next(m for m in schema.migrations() if m.name == name)


async def test_migrate_upgrades_a_database_made_before_migrations_without_loss(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    conn = await db.connect(await new_database())
    try:
        await conn.execute(SCHEMA_BEFORE_MIGRATIONS.read_text())
        # Today's code writes and reads the demo orders: it names service_order.traceparent
        # (0006, which adds it only if missing) and reads through order_children (0007, which
        # replaces it): the two given ahead of the migrations.
        await conn.execute("ALTER TABLE service_order ADD COLUMN traceparent text")
        await conn.execute(_migration("order_children").sql)
        document = json.loads(DEMO_CATALOG.read_text())
        async with conn.transaction():
            await catalog.load(conn, parse_catalog(document))
            await import_recorded(conn, document)
        await conn.execute(
            "INSERT INTO inbound_queue (id, payload, created_by) VALUES ('q-1', '{}', 'crm')"
        )
        await conn.execute(
            "INSERT INTO idempotency_claim (key, body_hash, status, response)"
            " VALUES (gen_random_uuid(), 'h', 202, '{\"orderId\": \"q-1\"}')"
        )
        before = await _counts(conn)
        order_ids = [o["id"] for o in document["orders"]]
        stored_before = [await orders.get(conn, order_id) for order_id in order_ids]
        assert await schema.applied(conn) == []

        applied = await schema.migrate(conn)

        assert [m.version for m in applied] == [m.version for m in schema.migrations()]
        after = await _counts(conn)
        after.pop("order_count")  # new in 0003, filled from the orders already there
        for table in ("console_session", "operator_action", "outbound_failure"):
            assert after.pop(table) == 0  # new in 0004, empty
        for table in ("hub_subscription", "order_event", "event_delivery"):
            assert after.pop(table) == 0  # new in 0008, empty
        assert after == before
        assert await order_counts.total(conn) == before["service_order"]
        assert [await orders.get(conn, order_id) for order_id in order_ids] == stored_before
        assert all(before[t] > 0 for t in ("service_order", "order_line_item", "inbound_queue"))
        upgraded = await snapshot(conn)
    finally:
        await conn.close()
    pictured = await _picture(await new_database())
    for part in SNAPSHOT:
        assert upgraded[part] == pictured[part], part

"""Test databases on the one PostgreSQL server of a run, and reading them back."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.domain.catalog_file import parse_catalog
from app.domain.passwords import hash_password
from app.services.recorded import import_recorded
from app.store import catalog, schema, users
from tests.helpers.auth import TEST_USERS
from tests.helpers.paths import DEMO_CATALOG

# One id per test run, in the names of its databases and Redis queues.
RUN_ID = uuid.uuid4().hex[:10]

# Tables a refused POST must leave alone.
WRITE_TABLES = ("service_order", "order_line_item", "order_characteristic_value", "work_note")
ALL_ORDER_TABLES = (
    "service_order",
    "order_related_party",
    "order_note",
    "order_line_item",
    "order_characteristic_value",
    "order_line_item_contact",
    "order_line_related_item",
    "order_service_relationship",
    "order_external_inventory",
    "work_note",
    "order_revision",
    "order_cancellation",
)


async def install_schema_and_users(conn: asyncpg.Connection[Any]) -> None:
    """What every test database starts with: the schema and TEST_USERS."""
    await schema.migrate(conn)
    for user, (password, roles) in TEST_USERS.items():
        await users.upsert(conn, user, hash_password(password), roles)


async def load_demo_catalog(conn: asyncpg.Connection[Any]) -> None:
    """The demo catalogue's reference data and example orders."""
    document = json.loads(DEMO_CATALOG.read_text())
    await catalog.load(conn, parse_catalog(document))
    await import_recorded(conn, document)


def with_database(dsn: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@asynccontextmanager
async def cloned_database(postgres_admin_url: str, template: str) -> AsyncIterator[str]:
    """A fresh database copied from `template`, dropped afterwards; yields its URL."""
    name = f"orderhub_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        try:
            yield with_database(postgres_admin_url, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def counts(url: str, tables: tuple[str, ...] = WRITE_TABLES) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
    finally:
        await conn.close()


async def fetch(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def execute(url: str, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def order_snapshot(url: str, order_id: str) -> dict[str, Any]:
    """Every row an order owns, to show that a refused request changed nothing."""
    conn = await asyncpg.connect(url)
    try:
        one = "SELECT * FROM service_order WHERE sys_id = $1"
        items = "SELECT * FROM order_line_item WHERE order_id = $1 ORDER BY sys_id"
        children = {
            "order_characteristic_value": "t.line_item, t.position",
            "order_line_item_contact": "t.sys_id",
            "order_line_related_item": "t.line_item, t.related_line_item",
            "order_service_relationship": "t.line_item, t.position",
            "order_external_inventory": "t.line_item, t.external_id",
        }
        snapshot: dict[str, Any] = {
            "order": [dict(r) for r in await conn.fetch(one, order_id)],
            "items": [dict(r) for r in await conn.fetch(items, order_id)],
        }
        for table, order_by in children.items():
            rows = await conn.fetch(
                f"SELECT t.* FROM {table} t JOIN order_line_item i ON i.sys_id = t.line_item "
                f"WHERE i.order_id = $1 ORDER BY {order_by}",
                order_id,
            )
            snapshot[table] = [dict(r) for r in rows]
        for table in ("order_related_party", "order_note", "work_note"):
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE order_id = $1", order_id)
            snapshot[table] = sorted((dict(r) for r in rows), key=repr)
        for table in ("order_revision", "order_cancellation"):
            snapshot[table] = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE order_id = $1", order_id
            )
        return snapshot
    finally:
        await conn.close()

"""The database as commands see it: DATABASE_URL or the embedded cluster, one connection per
command, and the schema with the demo data that `orderhub dev`, tests and benchmarks start from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from importlib import resources
from typing import Any, TypeVar

import asyncpg

from app.cli.embedded import EmbeddedPostgres
from app.domain.catalog_file import parse_catalog
from app.domain.passwords import hash_password
from app.domain.roles import (
    ALL_ROLES,
    FULFILLMENT_MANAGER,
    FULFILMENT_AGENT,
    INTEGRATOR,
    SERVICE_ORDER_AGENT,
    SERVICE_ORDER_MANAGER,
)
from app.services.recorded import import_recorded
from app.settings import Settings
from app.store import catalog, db, schema, users

DEMO_USER = ("admin", "admin")
# One demo user per role, password = name, so that the console (docs/console.md) can be tried
# as each: the four agent and manager roles sign in to it, the integrator is turned away.
DEMO_ROLE_USERS: tuple[tuple[str, str, str], ...] = (
    ("fulfilment-agent", "fulfilment-agent", FULFILMENT_AGENT),
    ("fulfillment-manager", "fulfillment-manager", FULFILLMENT_MANAGER),
    ("service-order-agent", "service-order-agent", SERVICE_ORDER_AGENT),
    ("service-order-manager", "service-order-manager", SERVICE_ORDER_MANAGER),
    ("integrator", "integrator", INTEGRATOR),
)
# The stub's callbacks authenticate as this integration user (STUB_CALLBACK_USER's default).
STUB_CALLBACK_USER = ("stub-callback", "stub-callback")
DEMO_CATALOG = resources.files("app") / "demo" / "catalog.json"


T = TypeVar("T")


@contextlib.contextmanager
def database_for_command(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded cluster, started for the command if it isn't running."""
    if settings.database_url:
        yield settings.database_url
        return
    pg = EmbeddedPostgres(settings.data_dir, settings.orderhub_pg_port)
    dsn = pg.start()
    try:
        yield dsn
    finally:
        if pg.started:
            pg.stop()


def with_connection(
    settings: Settings, work: Callable[[asyncpg.Connection[Any]], Awaitable[T]]
) -> T:
    """Runs one command's database work on a connection of its own (see database_for_command)."""

    async def run(dsn: str) -> T:
        conn = await db.connect(dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    with database_for_command(settings) as dsn:
        return asyncio.run(run(dsn))


def _say_applying(migration: schema.Migration) -> None:
    print(f"orderhub: applying migration {migration.version:04d} {migration.name}", flush=True)


async def migrate(conn: asyncpg.Connection[Any]) -> list[int]:
    """`orderhub db migrate`: the versions applied, each announced before it runs."""
    return [m.version for m in await schema.migrate(conn, on_apply=_say_applying)]


async def initialise(conn: asyncpg.Connection[Any]) -> list[int] | None:
    """`orderhub db init`: only an empty database; None when it has tables already."""
    if not await schema.is_empty(conn):
        return None
    return await migrate(conn)


async def prepare_database(dsn: str, *, demo: bool) -> None:
    """The schema migrated; with `demo`, the demo catalogue (into an empty one only) and users."""
    conn = await db.connect(dsn)
    try:
        await schema.migrate(conn, on_apply=_say_applying)
        if demo:
            # Only into an empty catalogue, so that what orders changed survives a restart.
            if await catalog.is_empty(conn):
                document = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
                async with conn.transaction():
                    await catalog.load(conn, parse_catalog(document))
                    await import_recorded(conn, document)
            for name, password, roles in (
                (*DEMO_USER, sorted(ALL_ROLES)),
                (*STUB_CALLBACK_USER, [INTEGRATOR]),
                *((name, password, [role]) for name, password, role in DEMO_ROLE_USERS),
            ):
                if await users.get(conn, name) is None:
                    await users.upsert(conn, name, hash_password(password), roles)
    finally:
        await conn.close()

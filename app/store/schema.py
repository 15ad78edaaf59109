"""The database schema as numbered migrations, applied in order and recorded in a table.

`migrations/NNNN_name.sql` under this package are applied once each, in number order, each in
a transaction of its own, while a session advisory lock keeps two processes from migrating at
once. `schema.sql` at the repository root is the readable picture of where they lead; a test
holds the two together. See docs/migrations.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

MIGRATION_LOCK = 7411641
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migration (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
APPLIED = "SELECT version FROM schema_migration ORDER BY version"
RECORD = "INSERT INTO schema_migration (version, name) VALUES ($1, $2)"
HAS_TABLES = """
SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()
                                         AND tablename <> 'schema_migration')
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration the package ships, in order; a misnamed or repeated number is a bug."""
    found: dict[int, Migration] = {}
    for entry in resources.files("app.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            if entry.name.endswith(".sql"):
                raise RuntimeError(f"migration file {entry.name} is not named NNNN_name.sql")
            continue
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations are numbered {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    ordered = [found[v] for v in sorted(found)]
    if [m.version for m in ordered] != list(range(1, len(ordered) + 1)):
        raise RuntimeError("migration numbers must run 0001, 0002, ... without a gap")
    return ordered


async def applied(conn: asyncpg.Connection[Any]) -> list[int]:
    """Versions recorded as applied; empty for a database that predates migrations."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migration') IS NOT NULL")
    return [row["version"] for row in await conn.fetch(APPLIED)] if exists else []


async def is_empty(conn: asyncpg.Connection[Any]) -> bool:
    """No OrderHub table at all: what `orderhub db init` may initialise."""
    return not await conn.fetchval(HAS_TABLES)


async def migrate(
    conn: asyncpg.Connection[Any], *, on_apply: Callable[[Migration], None] | None = None
) -> list[Migration]:
    """Applies the migrations not yet recorded; returns them. A failing migration rolls back
    alone and raises: those before it stay applied and recorded."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(CREATE_TABLE)
        done = set(await applied(conn))
        pending = [m for m in migrations() if m.version not in done]
        for migration in pending:
            if on_apply is not None:
                on_apply(migration)
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(RECORD, migration.version, migration.name)
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

"""The app_user table: who may call OrderHub, and with which roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

UPSERT = """
INSERT INTO app_user (name, password_hash, roles) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE
   SET password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles, updated_at = now()
"""
GET = "SELECT name, password_hash, roles FROM app_user WHERE name = $1"


@dataclass(frozen=True)
class StoredUser:
    name: str
    password_hash: str
    roles: frozenset[str]


async def upsert(
    conn: asyncpg.Connection[Any] | asyncpg.Pool[Any],
    name: str,
    password_hash: str,
    roles: list[str],
) -> None:
    await conn.execute(UPSERT, name, password_hash, sorted(set(roles)))


async def get(conn: asyncpg.Connection[Any] | asyncpg.Pool[Any], name: str) -> StoredUser | None:
    row = await conn.fetchrow(GET, name)
    if row is None:
        return None
    return StoredUser(row["name"], row["password_hash"], frozenset(row["roles"]))

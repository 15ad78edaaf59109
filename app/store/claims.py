"""The idempotency_claim table: first answers kept 24 h so that client retries replay them.

Locking a claim's key and telling a live claim from an expired one are the SQL functions
claims_take and claims_save (schema.sql), which inbound_accept uses too.
"""

from __future__ import annotations

from typing import Any

from app.domain.claims import CLAIM_HOURS
from app.store.db import Connection

TAKE = "SELECT * FROM claims_take($1::text[], $2)"
SAVE = "SELECT claims_save($1::text[], $2::text[], $3::int[], $4::jsonb[])"
PURGE = f"DELETE FROM idempotency_claim WHERE created_at < now() - interval '{CLAIM_HOURS} hours'"


async def take(conn: Connection, keys: list[str]) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """Locks the keys for this transaction: (keys another request holds, live claims found)."""
    if not keys:
        return set(), {}
    rows = await conn.fetch(TAKE, keys, CLAIM_HOURS)
    busy = {row["key"] for row in rows if row["held"]}
    found = {row["key"]: dict(row) for row in rows if not row["held"]}
    return busy, found


async def save(conn: Connection, claims: list[tuple[str, str, int, Any]]) -> None:
    """(key, body hash, status, response) for each claim; in the caller's transaction."""
    if claims:
        await conn.execute(SAVE, *(list(column) for column in zip(*claims, strict=True)))


async def purge(conn: Connection) -> int:
    result: str = await conn.execute(PURGE)
    return int(result.split()[-1])

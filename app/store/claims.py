"""The idempotency_claim table: first answers kept 24 h so that client retries replay them."""

from __future__ import annotations

from typing import Any

from app.domain.claims import CLAIM_HOURS
from app.store.db import Connection

# Keys another transaction holds right now: their request is still in flight.
TRY_LOCK = """
SELECT k FROM unnest($1::text[]) AS k WHERE NOT pg_try_advisory_xact_lock(hashtextextended(k, 0))
"""
FIND = f"""
SELECT key::text AS key, body_hash, status, response FROM idempotency_claim
 WHERE key = ANY($1::uuid[]) AND created_at > now() - interval '{CLAIM_HOURS} hours'
"""
SAVE = """
INSERT INTO idempotency_claim (key, body_hash, status, response)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::jsonb[])
ON CONFLICT (key) DO UPDATE
   SET body_hash = EXCLUDED.body_hash, status = EXCLUDED.status,
       response = EXCLUDED.response, created_at = now()
"""
PURGE = f"DELETE FROM idempotency_claim WHERE created_at < now() - interval '{CLAIM_HOURS} hours'"


async def lock(conn: Connection, keys: list[str]) -> set[str]:
    """Locks the keys for this transaction; returns those another request holds."""
    if not keys:
        return set()
    return {row["k"] for row in await conn.fetch(TRY_LOCK, keys)}


async def find(conn: Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    return {row["key"]: dict(row) for row in await conn.fetch(FIND, keys)}


async def save(conn: Connection, claims: list[tuple[str, str, int, Any]]) -> None:
    """(key, body hash, status, response) for each claim; in the caller's transaction."""
    if claims:
        await conn.execute(SAVE, *(list(column) for column in zip(*claims, strict=True)))


async def purge(conn: Connection) -> int:
    result: str = await conn.execute(PURGE)
    return int(result.split()[-1])

"""The outbound_failure table: sends that failed and are retried, or were given up, each with
its last error. The records of a send given up are deleted (the contract's agent step), so
this is where the console finds what went wrong with it."""

from __future__ import annotations

from typing import Any

from app.store.db import Connection

RECORD = """
INSERT INTO outbound_failure (request_id, order_id, target, numbers, attempts, last_error,
                              given_up)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (request_id) DO UPDATE
   SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
       given_up = EXCLUDED.given_up, updated_at = clock_timestamp()
"""
FORGET = "DELETE FROM outbound_failure WHERE request_id = $1"
MARK_JEOPARDY = """
UPDATE outbound_failure SET jeopardy_raised = true WHERE request_id = $1 AND NOT jeopardy_raised
RETURNING request_id
"""
RECENT = """
SELECT request_id, order_id, target, numbers, attempts, last_error, given_up, updated_at
  FROM outbound_failure ORDER BY updated_at DESC LIMIT $1
"""
PURGE = """
DELETE FROM outbound_failure
 WHERE given_up AND updated_at < clock_timestamp() - make_interval(days => $1)
"""


async def record(
    conn: Connection,
    *,
    request_id: str,
    order_id: str,
    target: str,
    numbers: list[str],
    attempts: int,
    error: str,
    given_up: bool,
) -> None:
    await conn.execute(RECORD, request_id, order_id, target, numbers, attempts, error, given_up)


async def forget(conn: Connection, request_id: str) -> None:
    """The send went through: what failed before no longer matters."""
    await conn.execute(FORGET, request_id)


async def mark_jeopardy(conn: Connection, request_id: str) -> bool:
    """True the first time only: one jeopardy event per failing send."""
    return await conn.fetchval(MARK_JEOPARDY, request_id) is not None


async def recent(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """Newest first (index outbound_failure_recent)."""
    return [dict(r) for r in await conn.fetch(RECENT, limit)]


async def purge(conn: Connection, *, older_than_days: int) -> int:
    """Given-up sends are history after the retention days; those still retried stay."""
    result: str = await conn.execute(PURGE, older_than_days)
    return int(result.split()[-1])

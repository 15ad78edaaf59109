"""The hub_subscription table: who wants events, where, which, and whether it is suspended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.store.db import Connection

COLUMNS = "id, owner, callback, query, state, failing_since, created_at, updated_at"
INSERT = f"""
INSERT INTO hub_subscription (id, owner, callback, query, secret) VALUES ($1, $2, $3, $4, $5)
RETURNING {COLUMNS}
"""
SELECT_ONE = f"SELECT {COLUMNS} FROM hub_subscription WHERE id = $1"
SELECT_ALL = f"SELECT {COLUMNS} FROM hub_subscription ORDER BY created_at, id"
DELETE_OWN = "DELETE FROM hub_subscription WHERE id = $1 AND owner = $2"
ACTIVE = "SELECT id, query FROM hub_subscription WHERE state = 'active' ORDER BY id"
FOR_DELIVERY = "SELECT id, callback, query, secret, state FROM hub_subscription WHERE id = $1"
SUCCEEDED = """
UPDATE hub_subscription SET failing_since = NULL, updated_at = clock_timestamp()
 WHERE id = $1 AND failing_since IS NOT NULL
"""
FAILED = """
UPDATE hub_subscription
   SET failing_since = coalesce(failing_since, clock_timestamp()), updated_at = clock_timestamp()
 WHERE id = $1
RETURNING extract(epoch FROM clock_timestamp() - failing_since)::float8
"""
SUSPEND = """
UPDATE hub_subscription SET state = 'suspended', updated_at = clock_timestamp()
 WHERE id = $1 AND state = 'active'
"""
REACTIVATE = """
UPDATE hub_subscription
   SET state = 'active', failing_since = NULL, updated_at = clock_timestamp()
 WHERE id = ANY($1) AND state = 'suspended'
"""


@dataclass(frozen=True)
class Target:
    """What a delivery needs of its subscription."""

    id: str
    callback: str
    query: str
    secret: str
    active: bool


async def insert(
    conn: Connection, *, subscription_id: str, owner: str, callback: str, query: str, secret: str
) -> dict[str, Any]:
    row = await conn.fetchrow(INSERT, subscription_id, owner, callback, query, secret)
    assert row is not None
    return dict(row)


async def get(conn: Connection, subscription_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(SELECT_ONE, subscription_id)
    return None if row is None else dict(row)


async def all_subscriptions(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SELECT_ALL)]


async def delete_own(conn: Connection, subscription_id: str, owner: str) -> bool:
    """Its pending and dead deliveries go with it (ON DELETE CASCADE)."""
    result: str = await conn.execute(DELETE_OWN, subscription_id, owner)
    return result.endswith(" 1")


async def active(conn: Connection) -> list[tuple[str, str]]:
    """(id, query) of every subscription that takes new events."""
    return [(r["id"], r["query"]) for r in await conn.fetch(ACTIVE)]


async def target(conn: Connection, subscription_id: str) -> Target | None:
    row = await conn.fetchrow(FOR_DELIVERY, subscription_id)
    if row is None:
        return None
    return Target(row["id"], row["callback"], row["query"], row["secret"], row["state"] == "active")


async def succeeded(conn: Connection, subscription_id: str) -> None:
    await conn.execute(SUCCEEDED, subscription_id)


async def failed(conn: Connection, subscription_id: str) -> float:
    """Seconds the subscriber has failed since its last success (0: this is the first)."""
    seconds: float | None = await conn.fetchval(FAILED, subscription_id)
    return seconds or 0.0


async def suspend(conn: Connection, subscription_id: str) -> None:
    await conn.execute(SUSPEND, subscription_id)


async def reactivate(conn: Connection, subscription_ids: list[str]) -> None:
    await conn.execute(REACTIVATE, subscription_ids)

"""How many orders there are, per state, without counting the table.

The counts live in `order_count`, appended to by triggers in the transaction of every change
to `service_order` (docs/api.md#total-count). A read sums the rows; once they pile up, the
read folds them into one per state, so the sum stays a few dozen rows whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Collection

from app.store.db import Connection

SUM = """
SELECT COALESCE(sum(n) FILTER (WHERE $1::text[] IS NULL OR state = ANY($1)), 0) AS total,
       count(*) AS rows
  FROM order_count
"""
COMPACT = "SELECT order_count_compact()"
REBUILD = """
WITH gone AS (DELETE FROM order_count)
INSERT INTO order_count (state, n) SELECT state, count(*) FROM service_order GROUP BY state
"""
COMPACT_AFTER_ROWS = 500


async def total(conn: Connection, states: Collection[str] | None = None) -> int:
    """Orders in any of `states`, or in all states when None; exact, as of this snapshot."""
    row = await conn.fetchrow(SUM, None if states is None else list(states))
    assert row is not None
    if row["rows"] > COMPACT_AFTER_ROWS:
        await conn.execute(COMPACT)
    return int(row["total"])


async def rebuild(conn: Connection) -> None:
    """Counts from the table itself, for rows written with triggers off (bulk loads)."""
    await conn.execute(REBUILD)

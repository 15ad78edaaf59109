"""Where an accepted async entry stands; read by every endpoint that takes an order id."""

from __future__ import annotations

from typing import Any

from app.store.db import Connection

LOOKUP = """
SELECT 'queued' AS state, NULL::jsonb AS error FROM inbound_queue WHERE id = $1
UNION ALL
SELECT state, error FROM inbound_processed WHERE id = $1
LIMIT 1
"""


async def lookup(conn: Connection, queue_id: str) -> tuple[str, dict[str, Any] | None] | None:
    """("queued" | "done" | "error", the stored error object) for an accepted entry."""
    row = await conn.fetchrow(LOOKUP, queue_id)
    return None if row is None else (row["state"], row["error"])

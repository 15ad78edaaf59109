"""Housekeeping: client-retry claims older than 24 h are forgotten."""

from __future__ import annotations

from typing import Any

from app import logs
from app.store import idempotency

log = logs.get("orderhub.worker.maintenance")


async def purge_claims(ctx: dict[str, Any]) -> int:
    async with ctx["pool"].acquire() as conn:
        purged = await idempotency.purge(conn)
    if purged:
        log.info("claims_purged", count=purged)
    return purged

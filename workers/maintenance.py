"""Housekeeping: client-retry claims older than 24 h are forgotten, and done inbound entries
older than ORDERHUB_PROCESSED_RETENTION_DAYS are deleted (their orders stay)."""

from __future__ import annotations

from typing import Any

from app import logs
from app.store import claims, inbound

log = logs.get("orderhub.worker.maintenance")


async def purge_claims(ctx: dict[str, Any]) -> int:
    days = ctx["settings"].orderhub_processed_retention_days
    async with ctx["pool"].acquire() as conn:
        purged = await claims.purge(conn)
        done = await inbound.purge_done(conn, older_than_days=days)
    if purged or done:
        log.info("housekeeping", claims_purged=purged, done_entries_purged=done)
    return purged + done

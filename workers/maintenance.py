"""Housekeeping: client-retry claims older than 24 h are forgotten, done inbound entries and
given-up sends older than ORDERHUB_PROCESSED_RETENTION_DAYS are deleted (their orders stay),
and console sessions past their lifetime or idle limit go."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app import logs
from app.services.console_sessions import now
from app.store import claims, inbound, outbound_failures, sessions

log = logs.get("orderhub.worker.maintenance")


async def purge_claims(ctx: dict[str, Any]) -> int:
    settings = ctx["settings"]
    days = settings.orderhub_processed_retention_days
    at = now()
    idle_before = at - timedelta(seconds=settings.orderhub_console_idle_seconds)
    async with ctx["pool"].acquire() as conn:
        purged = await claims.purge(conn)
        done = await inbound.purge_done(conn, older_than_days=days)
        failures = await outbound_failures.purge(conn, older_than_days=days)
        ended = await sessions.purge(conn, now=at, idle_before=idle_before)
    if purged or done or failures or ended:
        log.info(
            "housekeeping",
            claims_purged=purged,
            done_entries_purged=done,
            failed_sends_purged=failures,
            sessions_purged=ended,
        )
    return purged + done + failures + ended

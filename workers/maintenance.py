"""Housekeeping: client-retry claims older than 24 h are forgotten, done inbound entries and
given-up sends older than ORDERHUB_PROCESSED_RETENTION_DAYS are deleted (their orders stay),
console sessions past their lifetime or idle limit go, and events every subscriber has had
go an hour after they were raised."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app import logs
from app.services.console_sessions import now
from app.store import claims, deliveries, inbound, outbound_failures, sessions

log = logs.get("orderhub.worker.maintenance")
DELIVERED_EVENTS_KEPT_SECONDS = 3600


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
        events = await deliveries.purge_events(
            conn, older_than_seconds=DELIVERED_EVENTS_KEPT_SECONDS
        )
    if purged or done or failures or ended or events:
        log.info(
            "housekeeping",
            claims_purged=purged,
            done_entries_purged=done,
            failed_sends_purged=failures,
            sessions_purged=ended,
            delivered_events_purged=events,
        )
    return purged + done + failures + ended + events

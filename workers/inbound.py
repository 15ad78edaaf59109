"""Draining the inbound queue: one job per entry (job id = entry id), and the sweeper.

arq may run a job twice; the entry's row, locked and moved in the same transaction as the
order it creates, makes a second run do nothing.
"""

from __future__ import annotations

from typing import Any

import structlog
from arq import Retry

from app import logs
from app.domain.errors import ApiError, ErrorKind
from app.domain.ingestion import retry_delay
from app.jobs import PROCESS_INBOUND
from app.store import db, inbound

log = logs.get("orderhub.worker.inbound")
WAITING_DELAY = 0.2
SWEEP_BATCH = 5000


async def process_inbound(ctx: dict[str, Any], queue_id: str) -> str:
    structlog.contextvars.bind_contextvars(queue_id=queue_id, order_id=queue_id)
    settings = ctx["settings"]
    attempt = ctx.get("job_try", 1)
    try:
        async with ctx["pool"].acquire() as conn:
            outcome = await inbound.process(
                conn,
                queue_id,
                attempt=attempt,
                allow_spec_upgrade=settings.orderhub_allow_spec_version_update_in_change_order,
            )
    except Exception as exc:
        if db.is_transient(exc):
            delay = retry_delay(attempt)
            log.warning("inbound_retry", attempt=attempt, retry_in=round(delay, 2), error=repr(exc))
            raise Retry(defer=delay) from exc
        log.exception("inbound_failed", attempt=attempt)
        error = ApiError(ErrorKind.INTERNAL, f"Internal error while processing {queue_id}.")
        async with ctx["pool"].acquire() as conn:
            await inbound.fail(conn, queue_id, attempt=attempt, error=error.body())
        return "error"
    if outcome == "waiting":
        raise Retry(defer=WAITING_DELAY)
    log.info("inbound_processed", outcome=outcome, attempt=attempt)
    return outcome


async def sweep_inbound(ctx: dict[str, Any]) -> int:
    """Re-enqueues entries whose trigger was lost (Redis flushed, enqueue failed)."""
    settings = ctx["settings"]
    async with ctx["pool"].acquire() as conn:
        due = await inbound.due_for_sweep(
            conn, older_than=settings.orderhub_sweep_after_seconds, limit=SWEEP_BATCH
        )
    if not due:
        return 0
    enqueued = 0
    for queue_id in due:
        if await ctx["redis"].enqueue_job(PROCESS_INBOUND, queue_id, _job_id=queue_id):
            enqueued += 1
    if enqueued:
        log.info("inbound_swept", checked=len(due), enqueued=enqueued)
    return enqueued

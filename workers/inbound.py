"""Draining the inbound queue: one job per batch of entries, and the sweeper.

arq may run a job twice; each entry's row, locked and moved in the same transaction as the
order it creates, makes a second run do nothing for it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import uuid4

import structlog
from arq import Retry
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from app import logs
from app.domain.backoff import backoff_ceiling, retry_delay
from app.domain.errors import ApiError, ErrorKind
from app.domain.trace_context import trace_id_of
from app.services import inbound as inbound_service
from app.services.jobs import PROCESS_INBOUND, chunks, enqueue_sends
from app.store import db, inbound
from workers.periodic import skipped_while_unavailable

log = logs.get("orderhub.worker.inbound")
# A job whose entries wait behind an earlier one on their inventory looks again after this,
# doubled per look up to WAITING_CAP: the pass that processes the entry before them enqueues
# their turn at once (`_enqueue_next`), so these looks only cover a turn that was missed.
WAITING_DELAY = 0.2
WAITING_CAP = 5.0
SWEEP_BATCH = 5000
# A run stops taking batches after this long; the next run goes on at once.
SWEEP_SECONDS = 4.0
# Between runs that found nothing to hand back.
SWEEP_INTERVAL = 5.0
# While the workers are behind, a run looks again after this long.
SWEEP_WAIT = 0.2
# The oldest jobs looked at to tell whether one is still waiting to start.
SWEEP_LOOKAHEAD = 1000


async def process_inbound(ctx: dict[str, Any], ids: list[str] | str) -> dict[str, int]:
    """One job per accepted batch (job id = its first entry's id); processed in one pass."""
    batch = [ids] if isinstance(ids, str) else list(ids)
    structlog.contextvars.bind_contextvars(batch_size=len(batch))
    attempt = ctx.get("job_try", 1)
    try:
        result = await _process(ctx, batch, attempt)
    except Exception as exc:
        if db.is_transient(exc):
            delay = retry_delay(attempt)
            log.warning("inbound_retry", attempt=attempt, retry_in=round(delay, 2), error=repr(exc))
            raise Retry(defer=delay) from exc
        if len(batch) == 1:
            await _park(ctx, batch[0], attempt)
            return {"error": 1}
        log.exception("inbound_batch_failed", attempt=attempt)
        return await _one_by_one(ctx, batch, attempt)
    counts = _log_outcomes(result)
    await _enqueue_sends(ctx, result.request_ids)
    await _enqueue_next(ctx, result.next_in_line)
    if result.waiting:
        raise Retry(defer=backoff_ceiling(attempt, base=WAITING_DELAY, cap=WAITING_CAP))
    return counts


async def _process(
    ctx: dict[str, Any], batch: list[str], attempt: int
) -> inbound_service.Processed:
    settings = ctx["settings"]
    async with ctx["pool"].acquire() as conn:
        return await inbound_service.process(
            conn,
            batch,
            attempt=attempt,
            allow_spec_upgrade=settings.orderhub_allow_spec_version_update_in_change_order,
            auto_outbound=settings.outbound_auto,
        )


async def _enqueue_sends(ctx: dict[str, Any], request_ids: list[str]) -> None:
    """OUTBOUND_AUTO: the requests initiated with the orders go out at once; a trigger lost
    here is found again by the outbound sweeper, as the records are committed."""
    if not request_ids:
        return
    try:
        await enqueue_sends(ctx["redis"], request_ids)
    except Exception:
        log.exception("outbound_enqueue_failed", outbound_request_ids=request_ids)


async def _enqueue_next(ctx: dict[str, Any], queue_ids: list[str]) -> None:
    """Each entry whose turn came, as a job of its own: a change order behind another on the
    same inventory is processed as soon as that one is, not when its own job looks again.
    A job id of its own too, as the entry's first job may be waiting to look again; a second
    run over an entry processed already does nothing. A trigger lost here leaves the entry to
    its first job's next look."""
    if not queue_ids:
        return
    redis: ArqRedis = ctx["redis"]
    try:
        await asyncio.gather(
            *(
                redis.enqueue_job(PROCESS_INBOUND, [i], _job_id=f"next:{i}:{uuid4().hex[:8]}")
                for i in queue_ids
            )
        )
    except Exception:
        log.exception("inbound_enqueue_failed", queue_ids=queue_ids)


async def _one_by_one(ctx: dict[str, Any], batch: list[str], attempt: int) -> dict[str, int]:
    """After an unexpected failure of a batch: each entry alone, so only the culprit fails."""
    counts: dict[str, int] = {}
    for queue_id in batch:
        try:
            result = await _process(ctx, [queue_id], attempt)
        except Exception as exc:
            if db.is_transient(exc):
                raise Retry(defer=retry_delay(attempt)) from exc
            await _park(ctx, queue_id, attempt)
            counts["error"] = counts.get("error", 0) + 1
            continue
        for state, count in _log_outcomes(result).items():
            counts[state] = counts.get(state, 0) + count
        await _enqueue_sends(ctx, result.request_ids)
        await _enqueue_next(ctx, result.next_in_line)
    return counts


async def _park(ctx: dict[str, Any], queue_id: str, attempt: int) -> None:
    log.exception("inbound_failed", queue_id=queue_id, order_id=queue_id, attempt=attempt)
    error = ApiError(ErrorKind.INTERNAL, f"Internal error while processing {queue_id}.")
    async with ctx["pool"].acquire() as conn:
        await inbound.fail(conn, [queue_id], attempt=attempt, error=error.body())


def _log_outcomes(result: inbound_service.Processed) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        log.info(
            "inbound_processed",
            queue_id=outcome.queue_id,
            order_id=outcome.queue_id,
            request_id=outcome.request_id,
            trace_id=trace_id_of(outcome.traceparent),
            outcome=outcome.state,
        )
        counts[outcome.state] = counts.get(outcome.state, 0) + 1
    for queue_id in result.waiting:
        log.info("inbound_waiting", queue_id=queue_id, order_id=queue_id)
    return counts


async def keep_sweeping(ctx: dict[str, Any]) -> None:
    """The sweeper as a task of the worker's own, beside arq's job loop rather than one of its
    cron jobs: arq schedules cron jobs only between reads of the queue, after the jobs it read
    last are done, so under a backlog runs came many seconds apart and a Redis loss was
    handed back a few batches at a time. A run that handed something back is followed at once
    by the next; an idle one waits SWEEP_INTERVAL. Every worker runs one; an advisory lock
    keeps two from taking the same entries."""
    sweep = skipped_while_unavailable(sweep_inbound)
    while True:
        try:
            enqueued = await sweep(ctx)
        except Exception as exc:
            log.warning("inbound_sweep_failed", error=repr(exc))
            enqueued = 0
        await asyncio.sleep(0 if enqueued else SWEEP_INTERVAL)


async def sweep_inbound(ctx: dict[str, Any], seconds: float = SWEEP_SECONDS) -> int:
    """Re-enqueues entries whose trigger was lost (Redis flushed, enqueue failed): batch after
    batch until none is due or SWEEP_SECONDS have passed, so that after a Redis loss a
    backlog of any size is handed back at the pace Redis takes it, not one batch per run.

    An entry also comes due while its job only waits behind others, in a backlog deeper than
    the threshold. So while a job enqueued more than half the threshold ago has not started,
    the run hands back nothing and looks again shortly: the workers are fed as fast as they
    take jobs, and an entry whose job is waiting is not handed back a second time."""
    settings = ctx["settings"]
    after = settings.orderhub_sweep_after_seconds
    redis: ArqRedis = ctx["redis"]
    deadline = time.monotonic() + seconds
    checked = enqueued = 0
    while time.monotonic() < deadline:
        if await _waiting_since(redis, settings.orderhub_queue_name, after / 2):
            await asyncio.sleep(SWEEP_WAIT)
            continue
        async with ctx["pool"].acquire() as conn:
            due = await inbound.due_for_sweep(conn, older_than=after, limit=SWEEP_BATCH)
        if not due:
            break
        checked += len(due)
        batch = chunks(due)
        # Together, not one after another: each enqueue is three round trips, and beside the
        # worker's own jobs every round trip waits its turn on the event loop.
        jobs = await asyncio.gather(
            # A job id of its own: a live job holding some of these entries must not block the
            # others; a second run over an entry already processed does nothing.
            *(redis.enqueue_job(PROCESS_INBOUND, c, _job_id=f"sweep:{uuid4().hex}") for c in batch)
        )
        enqueued += sum(len(c) for c, job in zip(batch, jobs, strict=True) if job is not None)
        if len(due) < SWEEP_BATCH:
            break
    if enqueued:
        log.info("inbound_swept", checked=checked, enqueued=enqueued)
    return enqueued


async def _waiting_since(redis: ArqRedis, queue_name: str, seconds: float) -> bool:
    """Whether a job due more than `seconds` ago has not started. A started job has its
    in-progress key, and keeps it if its worker was killed: the sweeper then goes on, and
    hands back that worker's entries."""
    cutoff = (time.time() - seconds) * 1000
    ids = await redis.zrangebyscore(queue_name, "-inf", cutoff, start=0, num=SWEEP_LOOKAHEAD)
    if not ids:
        return False
    started: int = await redis.exists(*(in_progress_key_prefix + i.decode() for i in ids))
    return started < len(ids)

"""Sending outbound requests to SOM/TOM: one job per Request ID, and the sweeper.

The records were written by the transaction that decided them; this job only delivers.
Every retry of one send carries the same Request ID (`externalId`), so the receiver can drop
a duplicate; a circuit breaker per system parks sends while it is down.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import structlog
from arq import Retry

from app import logs, metrics
from app.domain.backoff import retry_delay
from app.domain.breaker import CircuitBreaker
from app.domain.outbound import classify_send
from app.domain.outbound_retries import RetryPolicy, parked_for, retry_in
from app.domain.trace_context import HEADER as TRACEPARENT
from app.domain.trace_context import continue_from
from app.services import outbound as outbound_service
from app.services.jobs import SEND_OUTBOUND, send_job_id
from app.settings import Settings
from app.store import db
from app.store import outbound as outbound_store
from workers.breakers import breaker
from workers.heartbeat import report_breakers

log = logs.get("orderhub.worker.outbound")
SWEEP_BATCH = 1000
# A send woken this close to its time goes: the worker's and the database's clocks differ.
DUE_TOLERANCE_SECONDS = 0.1
# arq's count of runs is no limit on a send: a send parked by a breaker runs often without
# being attempted, and the give-up rule is the time since the first attempt. Should arq drop
# a job all the same, the sweeper enqueues its request again once it is due.
SEND_MAX_TRIES = 1_000_000


async def _post(
    ctx: dict[str, Any], target: str, payload: dict[str, Any], traceparent: str
) -> tuple[int | None, str]:
    """(HTTP status or None when no answer came, a short reason)."""
    url, user, password = ctx["settings"].target(target)
    timeout = aiohttp.ClientTimeout(total=ctx["settings"].orderhub_outbound_timeout_seconds)
    try:
        headers = {
            "Authorization": aiohttp.encode_basic_auth(user, password),
            TRACEPARENT: traceparent,
        }
        async with ctx["http"].post(url, json=payload, timeout=timeout, headers=headers) as resp:
            text = (await resp.text())[:200]
            return resp.status, f"HTTP {resp.status} {text}".strip()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, f"no answer from {target} ({type(exc).__name__})"


async def send_outbound(ctx: dict[str, Any], request_id: str) -> str:
    try:
        return await _send(ctx, request_id)
    except Retry:
        raise
    except Exception as exc:
        if db.is_transient(exc):
            raise Retry(defer=retry_delay(ctx.get("job_try", 1))) from exc
        raise


async def _send(ctx: dict[str, Any], request_id: str) -> str:
    settings = ctx["settings"]
    async with ctx["pool"].acquire() as conn:
        due = await outbound_store.due(conn, request_id)
    if due is None:
        return "nothing to send"
    # Each attempt is a span of the order's trace; the job's lines carry its trace id.
    span = continue_from(due.traceparent)
    structlog.contextvars.bind_contextvars(trace_id=span.trace_id)
    fields: dict[str, Any] = {
        "outbound_request_id": request_id,
        "order_id": due.order_id,
        "target": due.target,
    }
    if due.order_state != "cancelled":
        if due.due_in > DUE_TOLERANCE_SECONDS:
            # A trigger ahead of the request's time (a duplicate): it waits for that time.
            log.info("outbound_not_due", retry_in=round(due.due_in, 2), **fields)
            raise Retry(defer=due.due_in)
        circuit = breaker(ctx, due.target)
        wait = circuit.wait()
        if wait > 0:
            delay = parked_for(wait, settings.orderhub_breaker_cooldown_seconds)
            async with ctx["pool"].acquire() as conn:
                await outbound_store.defer(conn, request_id, delay)
            log.info("outbound_parked", retry_in=round(delay, 2), **fields)
            raise Retry(defer=delay)
    async with ctx["pool"].acquire() as conn:
        send = await outbound_service.prepare_send(conn, request_id)
    if send is None:
        return "nothing to send"
    fields["fo_numbers"] = send.numbers
    if send.order_state == "cancelled":
        # Cancelled while this request waited to go out: it must not reach SOM/TOM now.
        async with ctx["pool"].acquire() as conn:
            await outbound_service.given_up(
                conn, send, send.attempts, "the order was cancelled before it was sent"
            )
        log.info("outbound_dropped", reason="order cancelled", **fields)
        _count(send.target, "dropped")
        return "given up"
    circuit = breaker(ctx, send.target)
    async with ctx["pool"].acquire() as conn:
        counted = await outbound_store.count_attempt(conn, request_id)
    if counted is None:
        return "nothing to send"
    attempts, since_first = counted
    started = time.monotonic()
    status, reason = await _post(ctx, send.target, send.payload, span.traceparent)
    since_first += time.monotonic() - started
    outcome = classify_send(status)
    log.info("outbound_sent", attempt=attempts, status=status, outcome=outcome, **fields)
    if outcome == "accepted":
        await _breaker_outcome(ctx, circuit, failed=False)
        async with ctx["pool"].acquire() as conn:
            await outbound_service.sent(conn, send, attempts)
        _count(send.target, "sent")
        return "sent"
    if outcome == "retry":
        await _breaker_outcome(ctx, circuit, failed=True)
        backoff = retry_in(retry_policy(settings), attempts, since_first)
        if backoff is not None:
            async with ctx["pool"].acquire() as conn:
                await outbound_service.send_failed(
                    conn,
                    send,
                    attempts,
                    reason,
                    backoff,
                    in_jeopardy=since_first >= settings.orderhub_event_jeopardy_after_seconds,
                )
            log.info("outbound_retry", attempt=attempts, retry_in=round(backoff, 2), **fields)
            _count(send.target, "retry")
            raise Retry(defer=backoff)
    else:
        # the system answered: it is up, it refused this one
        await _breaker_outcome(ctx, circuit, failed=False)
    async with ctx["pool"].acquire() as conn:
        await outbound_service.given_up(conn, send, attempts, reason)
    log.warning("outbound_given_up", attempt=attempts, reason=reason, **fields)
    _count(send.target, "given_up")
    return "given up"


def _count(system: str, outcome: str) -> None:
    """orderhub_outbound_sends_total: sent, retry (failed, sent again later), given_up (failed
    or refused for good) or dropped (the order was cancelled before it went)."""
    metrics.OUTBOUND_SENDS.labels(system, outcome).inc()


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        give_up_after=settings.orderhub_outbound_give_up_seconds,
        backoff_cap=settings.orderhub_outbound_backoff_cap_seconds,
    )


async def _breaker_outcome(ctx: dict[str, Any], circuit: CircuitBreaker, *, failed: bool) -> None:
    """Counts the outcome; a breaker that opened or closed is reported at once rather than at
    the next heartbeat."""
    was_open = circuit.is_open
    if failed:
        circuit.failure()
    else:
        circuit.success()
    if circuit.is_open != was_open:
        await report_breakers(ctx)


async def sweep_outbound(ctx: dict[str, Any]) -> int:
    """Re-enqueues sends whose job was lost, once they are due: a send waiting for its back-off
    or its breaker is not sent before its time."""
    settings = ctx["settings"]
    async with ctx["pool"].acquire() as conn:
        due = await outbound_store.unsent_for_sweep(
            conn, older_than=settings.orderhub_sweep_after_seconds, limit=SWEEP_BATCH
        )
    enqueued = 0
    for request_id in due or []:
        if await ctx["redis"].enqueue_job(
            SEND_OUTBOUND, request_id, _job_id=send_job_id(request_id)
        ):
            enqueued += 1
    if enqueued:
        log.info("outbound_swept", enqueued=enqueued)
    return enqueued

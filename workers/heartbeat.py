"""Each worker says it is alive every few seconds, so operators can count live workers (and
those that deliver events), and reports its circuit breakers with it
(app/domain/worker_reports.py says how they are read).

A task of each worker, not an arq cron job: a cron job goes on the shared queue and is run by
whichever worker takes it, so with several workers each one's heartbeat would be refreshed
only when it happened to take the job."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

from redis.exceptions import RedisError

from app import logs
from app.domain.worker_reports import (
    REPORT_TTL_SECONDS,
    alive_since,
    breakers_key,
    delivering_key,
    encode_breakers,
    workers_key,
)
from workers import breakers

HEARTBEAT_TTL_SECONDS = REPORT_TTL_SECONDS
HEARTBEAT_EVERY_SECONDS = 10.0
log = logs.get("orderhub.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_key(queue_name: str) -> str:
    return f"{queue_name}:worker:{worker_name()}"


def heartbeat_pattern(queue_name: str) -> str:
    return f"{queue_name}:worker:*"


async def heartbeat(ctx: dict[str, Any]) -> None:
    """The key of old, the entry in the workers' set (stale entries of dead workers dropped
    on the way) and the breaker report, in one round trip."""
    queue = ctx["queue_name"]
    now = time.time()
    pipe = ctx["redis"].pipeline(transaction=False)
    pipe.set(heartbeat_key(queue), "1", ex=HEARTBEAT_TTL_SECONDS)
    pipe.zadd(workers_key(queue), {worker_name(): now})
    pipe.zremrangebyscore(workers_key(queue), "-inf", alive_since(now))
    if ctx.get("delivers"):
        pipe.zadd(delivering_key(queue), {worker_name(): now})
        pipe.zremrangebyscore(delivering_key(queue), "-inf", alive_since(now))
    pipe.set(
        breakers_key(queue, worker_name()),
        encode_breakers(breakers.states(worker_name())),
        ex=REPORT_TTL_SECONDS,
    )
    await pipe.execute()


async def report_breakers(ctx: dict[str, Any]) -> None:
    """Between heartbeats, when a breaker opened or closed: the page shows it at once. A
    report that can't be written waits for the next heartbeat; the send goes on."""
    queue = ctx["queue_name"]
    try:
        await ctx["redis"].set(
            breakers_key(queue, worker_name()),
            encode_breakers(breakers.states(worker_name())),
            ex=REPORT_TTL_SECONDS,
        )
    except (RedisError, OSError):
        return  # a report is a hint: the send must not fail for it


async def farewell(ctx: dict[str, Any]) -> None:
    """On shutdown: this worker no longer counts as alive."""
    queue = ctx["queue_name"]
    pipe = ctx["redis"].pipeline(transaction=False)
    pipe.delete(heartbeat_key(queue), breakers_key(queue, worker_name()))
    pipe.zrem(workers_key(queue), worker_name())
    pipe.zrem(delivering_key(queue), worker_name())
    await pipe.execute()


async def keep_beating(ctx: dict[str, Any], every: float = HEARTBEAT_EVERY_SECONDS) -> None:
    """The heartbeat every `every` seconds, for as long as the worker runs; one Redis could not
    take is logged and the next one tried on time."""
    while True:
        await asyncio.sleep(every)
        try:
            await heartbeat(ctx)
        except (RedisError, OSError) as exc:
            log.warning("worker_heartbeat_failed", error=repr(exc))

"""The workers as they last reported themselves in Redis (app/domain/worker_reports.py): how
many are alive, and each one's circuit breakers."""

from __future__ import annotations

import time
from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from app import logs
from app.domain.worker_reports import (
    BreakerState,
    alive_since,
    breaker_states_of,
    breakers_key,
    delivering_key,
    workers_key,
)

log = logs.get("orderhub.services.workers")


@dataclass(frozen=True)
class Reports:
    workers: list[str]
    breakers: list[BreakerState]
    readable: bool = True  # False: Redis did not answer; the page says so


async def read(redis: ArqRedis, queue_name: str) -> Reports:
    """Two round trips, whatever else Redis holds."""
    try:
        members = await redis.zrangebyscore(
            workers_key(queue_name), alive_since(time.time()), "+inf"
        )
        workers = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
        raw = await redis.mget([breakers_key(queue_name, w) for w in workers]) if workers else []
    except (RedisError, OSError) as exc:
        log.warning("worker_reports_unavailable", error=repr(exc))
        return Reports([], [], readable=False)
    return Reports(workers, breaker_states_of(dict(zip(workers, raw, strict=True))))


async def delivering(redis: ArqRedis, queue_name: str) -> int | None:
    """Live workers that deliver events; None when Redis did not answer."""
    try:
        found: int = await redis.zcount(
            delivering_key(queue_name), alive_since(time.time()), "+inf"
        )
    except (RedisError, OSError) as exc:
        log.warning("worker_reports_unavailable", error=repr(exc))
        return None
    return found

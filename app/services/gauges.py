"""The gauges every API process would read alike: the inbound queue and how far event
deliveries are behind (PostgreSQL), and the live workers (Redis), read when scraped and kept
for a few seconds.

The queue's counts are the API's queue stats query (app/store/inbound.py STATS), which counts
whole tables: however often Prometheus (or several of them, or a person) scrapes, one process
runs it at most once per READ_EVERY_SECONDS. What can't be read in READ_TIMEOUT_SECONDS is
left out of the scrape rather than shown stale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from prometheus_client.core import Metric

from app import logs, metrics
from app.domain.worker_reports import REPORT_TTL_SECONDS
from app.services import worker_reports
from app.store import deliveries, inbound

log = logs.get("orderhub.services.gauges")
READ_EVERY_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 2.0
QUEUE_STATES = ("queued", "done", "error")


@dataclass(frozen=True)
class Reading:
    at: float  # time.monotonic() when read
    queue: dict[str, Any] | None  # inbound.stats, or None when PostgreSQL did not answer
    workers_alive: int | None  # None when Redis did not answer
    events_behind: float | None = None  # deliveries.oldest_pending_age, read with the queue
    event_workers_alive: int | None = None  # those of the workers that deliver events


class SharedGauges:
    def __init__(
        self,
        pool: Any,
        redis: ArqRedis,
        queue_name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._queue_name = queue_name
        self._clock = clock
        self._last: Reading | None = None
        self._reading = asyncio.Lock()

    async def families(self) -> metrics.Families:
        """The gauges as of at most READ_EVERY_SECONDS ago; concurrent scrapes share a read."""
        async with self._reading:
            if self._last is None or self._clock() - self._last.at >= READ_EVERY_SECONDS:
                queue, behind = await self._database()
                alive, delivering = await self._workers()
                self._last = Reading(self._clock(), queue, alive, behind, delivering)
        return metrics.Families(_families(self._last, self._clock()))

    async def _database(self) -> tuple[dict[str, Any] | None, float | None]:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                async with self._pool.acquire() as conn:
                    stats: dict[str, Any] = await inbound.stats(conn)
                    return stats, await deliveries.oldest_pending_age(conn)
        except Exception as exc:
            log.warning("queue_gauges_unavailable", error=repr(exc))
            return None, None

    async def _workers(self) -> tuple[int | None, int | None]:
        """(live workers, those of them that deliver events)."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                reports = await worker_reports.read(self._redis, self._queue_name)
                delivering = await worker_reports.delivering(self._redis, self._queue_name)
        except TimeoutError:
            return None, None
        return (len(reports.workers) if reports.readable else None), delivering


def _families(reading: Reading, now: float) -> list[Metric]:
    found: list[Metric] = []
    if reading.queue is not None:
        found.append(
            metrics.labelled_gauge(
                metrics.INBOUND_QUEUE_ENTRIES,
                "Inbound queue entries by state: queued (waiting for a worker), done (kept "
                "for ORDERHUB_PROCESSED_RETENTION_DAYS), error (waiting for a retry).",
                "state",
                {state: reading.queue[state] for state in QUEUE_STATES},
            )
        )
        age = reading.queue["oldestQueuedAgeSeconds"]
        found.append(
            metrics.gauge(
                metrics.INBOUND_OLDEST_QUEUED_AGE,
                "Age of the oldest queued inbound entry; 0 when none is queued.",
                0.0 if age is None else age + (now - reading.at),
            )
        )
        behind = reading.events_behind
        found.append(
            metrics.gauge(
                metrics.EVENT_OLDEST_PENDING_AGE,
                "Age of the oldest event a hub subscriber is still to be sent (pending or "
                "retried, not dead); 0 when none waits.",
                0.0 if behind is None else behind + (now - reading.at),
            )
        )
    if reading.workers_alive is not None:
        found.append(
            metrics.gauge(
                metrics.WORKERS_ALIVE,
                f"Workers whose last heartbeat in Redis is within {REPORT_TTL_SECONDS} s.",
                reading.workers_alive,
            )
        )
    if reading.event_workers_alive is not None:
        found.append(
            metrics.gauge(
                metrics.EVENT_WORKERS_ALIVE,
                "Of the live workers, those that deliver events (ORDERHUB_WORKER_JOBS all or "
                "events).",
                reading.event_workers_alive,
            )
        )
    return found

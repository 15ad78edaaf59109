"""A worker that outlives a Redis restart.

arq's main loop lets any Redis error out: a Redis restarted, failed over or briefly out of
reach ended the worker process, and the jobs of the queue waited for someone to start another.
Here a poll that fails on Redis is logged and tried again after a back-off, and the client
reconnects on its next command. Entries whose jobs a restart lost are the sweeper's
(workers/inbound.py).
"""

from __future__ import annotations

import asyncio

from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app import logs
from app.domain.backoff import backoff_ceiling

log = logs.get("orderhub.worker")
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
# Between polls while Redis does not answer: from this, doubled up to the cap.
RETRY_BASE_SECONDS = 0.2
RETRY_CAP_SECONDS = 5.0


class OutageTolerantWorker(Worker):
    _redis_failures = 0

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_ERRORS as exc:
            self._redis_failures += 1
            delay = backoff_ceiling(
                self._redis_failures, base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS
            )
            log.warning(
                "worker_redis_unavailable",
                error=repr(exc),
                failures=self._redis_failures,
                retry_in=delay,
            )
            await asyncio.sleep(delay)
            return
        if self._redis_failures:
            log.info("worker_redis_back", failures=self._redis_failures)
            self._redis_failures = 0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq takes a job slot before it asks Redis whether the job may start; a Redis error
        there would keep the slot for good, and after max_jobs such errors the worker would
        start nothing. No task exists for a start that raised, so the slot is given back."""
        for job_id in job_ids:
            started = self.job_counter
            try:
                await super().start_jobs([job_id])
            except REDIS_ERRORS:
                if self.job_counter > started:
                    self.job_counter -= 1
                    self.sem.release()
                raise

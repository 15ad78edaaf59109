"""Cron jobs while PostgreSQL is away.

A sweep or a purge that finds the database unreachable has nothing to do until it is back,
and its next run comes within seconds: one warning line says so, where arq would log the
whole traceback at error level on every run of every cron job for as long as the outage
lasts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from arq.typing import WorkerCoroutine

from app import logs
from app.store.db import is_unavailable

log = logs.get("orderhub.worker.periodic")

CronJob = Callable[[dict[str, Any]], Awaitable[int]]


def skipped_while_unavailable(job: CronJob) -> WorkerCoroutine:
    @wraps(job)
    async def run(ctx: dict[Any, Any], *_args: Any, **_kwargs: Any) -> int:
        try:
            return await job(ctx)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning(
                "cron_skipped", job=job.__name__, reason="database_unavailable", error=repr(exc)
            )
            return 0

    return run

"""Settings for one test: its database, and a Redis queue name of its own, cleaned afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from arq.constants import (
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)

from app.services import jobs
from app.settings import Settings
from tests.helpers.databases import RUN_ID

JOB_KEY_PREFIXES = (job_key_prefix, in_progress_key_prefix, retry_key_prefix, result_key_prefix)


@asynccontextmanager
async def isolated_settings(database_url: str, redis_url: str) -> AsyncIterator[Settings]:
    """Settings on the given database, with a Redis key prefix of its own, cleaned afterwards."""
    queue = f"orderhub-test-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    try:
        yield replace(
            Settings.from_env({}),
            database_url=database_url,
            redis_url=redis_url,
            orderhub_queue_name=queue,
        )
    finally:
        redis = jobs.connect(redis_url, queue)
        try:
            keys = [key async for key in redis.scan_iter(match=f"{queue}*")]
            # arq keeps each job's data under arq:job:<id>, outside the queue's own keys.
            job_ids = [job.decode() for job in await redis.zrange(queue, 0, -1)]
            keys += [f"{prefix}{job}" for job in job_ids for prefix in JOB_KEY_PREFIXES]
            if keys:
                await redis.delete(*keys)
        finally:
            await jobs.close(redis)

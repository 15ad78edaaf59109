"""Each worker's own heartbeat task (workers/heartbeat.py), on a real Redis: it refreshes this
worker's entry however many workers share the queue, and names it among the workers that
deliver events only when it does."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from app.domain.worker_reports import delivering_key, workers_key
from app.services import jobs
from app.settings import Settings
from tests.helpers.polling import wait_for_async
from workers.heartbeat import farewell, keep_beating, worker_name


async def _beating(settings: Settings, *, delivers: bool) -> tuple[list[float], bool]:
    """Scores of this worker's entry over three beats, and whether it was in the delivering
    set; farewell after."""
    redis = jobs.connect(settings.redis_url, settings.orderhub_queue_name)
    queue = settings.orderhub_queue_name
    ctx: dict[str, Any] = {"redis": redis, "queue_name": queue, "delivers": delivers}
    task = asyncio.create_task(keep_beating(ctx, every=0.05))
    scores: list[float] = []
    try:

        async def three_beats() -> bool | None:
            score = await redis.zscore(workers_key(queue), worker_name())
            if score is not None and (not scores or score > scores[-1]):
                scores.append(score)
            return True if len(scores) >= 3 else None

        await wait_for_async(three_beats, 30, "three heartbeats")
        listed = await redis.zscore(delivering_key(queue), worker_name()) is not None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await farewell(ctx)
        await redis.aclose(close_connection_pool=True)
    return scores, listed


async def test_a_worker_refreshes_its_own_entry_every_beat(settings: Settings) -> None:
    scores, listed = await _beating(settings, delivers=False)
    assert scores == sorted(scores) and len(set(scores)) == 3
    assert not listed  # an `orders` worker delivers no events


async def test_a_worker_that_delivers_events_is_counted_among_them_until_it_leaves(
    settings: Settings,
) -> None:
    _, listed = await _beating(settings, delivers=True)
    assert listed
    redis = jobs.connect(settings.redis_url, settings.orderhub_queue_name)
    try:
        queue = settings.orderhub_queue_name
        assert await redis.zscore(delivering_key(queue), worker_name()) is None  # farewell
        assert await redis.zscore(workers_key(queue), worker_name()) is None
    finally:
        await redis.aclose(close_connection_pool=True)

"""What the workers measure: every job's run (orderhub_jobs_total and
orderhub_job_duration_seconds) and their circuit breakers' states (orderhub_breaker_state)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from arq import Retry
from arq.typing import WorkerCoroutine
from prometheus_client.core import GaugeMetricFamily

from app import metrics
from workers import breakers
from workers.heartbeat import worker_name

Job = Callable[..., Awaitable[Any]]


def counted(job: Job, name: str | None = None) -> WorkerCoroutine:
    """`job`, counted by outcome and timed: success, retry (arq runs it again later), failure
    (an exception ends it) or cancelled (its timeout, or the worker stopping)."""
    function = name or job.__name__
    duration = metrics.JOB_DURATION.labels(function)

    @wraps(job)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "failure"
        try:
            result = await job(ctx, *args, **kwargs)
            outcome = "success"
            return result
        except Retry:
            outcome = "retry"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            duration.observe(time.perf_counter() - started)
            metrics.JOBS.labels(function, outcome).inc()

    return run


class BreakerStates:
    """The breakers of this process as they stand when scraped; a system this process has not
    sent to yet has none."""

    def collect(self) -> list[GaugeMetricFamily]:
        by_system: dict[str, float] = {}
        for state in breakers.states(worker_name()):
            # One breaker per system in a running worker; tests may make more: the most open.
            value = float(metrics.BREAKER_STATE_VALUES[state.state])
            by_system[state.target] = max(value, by_system.get(state.target, 0.0))
        family = metrics.labelled_gauge(
            metrics.BREAKER_STATE,
            "Circuit breaker of this worker for a fulfilment system: "
            "0 closed, 1 half-open (the next send is the trial), 2 open (sends parked).",
            "system",
            dict(sorted(by_system.items())),
        )
        return [family]

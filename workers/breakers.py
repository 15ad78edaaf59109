"""The circuit breakers of this worker process, one per fulfilment system.

Not in arq's `ctx`: arq gives every job a copy of the worker's context, so a breaker kept
there would forget each failure. Their states are reported beside the heartbeat
(workers/heartbeat.py), for the console's Outbound page.
"""

from __future__ import annotations

import time
from typing import Any

from app.domain.breaker import CircuitBreaker
from app.domain.worker_reports import BreakerState

_BREAKERS: dict[tuple[str, str, int, float], CircuitBreaker] = {}


def breaker(ctx: dict[str, Any], target: str) -> CircuitBreaker:
    settings = ctx["settings"]
    threshold = settings.orderhub_breaker_threshold
    cooldown = settings.orderhub_breaker_cooldown_seconds
    key = (target, settings.target(target)[0], threshold, cooldown)
    if key not in _BREAKERS:
        _BREAKERS[key] = CircuitBreaker(threshold, cooldown)
    return _BREAKERS[key]


def states(worker: str) -> list[BreakerState]:
    """Every breaker this process has used, as it stands now."""
    now = time.time()
    found = []
    for (target, _url, _threshold, _cooldown), circuit in sorted(_BREAKERS.items()):
        state, retry_in = circuit.status()
        found.append(BreakerState(worker, target, state, circuit.failures, retry_in, now))
    return found

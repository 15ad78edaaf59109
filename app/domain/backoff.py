"""How long a worker waits before retrying a job that failed for a passing reason."""

from __future__ import annotations

import random
from collections.abc import Callable

_MAX_DOUBLINGS = 64


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """`base` doubled per attempt after the first, up to `cap`. The exponent stops growing long
    after any cap is reached, so that any attempt number works."""
    return min(cap, base * 2.0 ** min(max(0, attempt - 1), _MAX_DOUBLINGS))


def retry_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    draw: Callable[[float, float], float] = random.uniform,
) -> float:
    """Exponential back-off with full jitter, so retrying workers don't stampede together."""
    return draw(min(base, cap), backoff_ceiling(attempt, base=base, cap=cap))

"""How long a worker waits before retrying a job that failed for a passing reason."""

from __future__ import annotations

import random


def retry_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential back-off with full jitter, so retrying workers don't stampede together."""
    return random.uniform(base, min(cap, base * 2 ** max(0, attempt - 1)))

"""When a send to SOM/TOM that did not go through goes again, and when it is given up.

A refusal (a 4xx other than 408 and 429) ends a send at once: the system is up and said no.
Any other failure (no answer, a timeout, 408, 429, a 5xx) may be an outage of the system, which
a count of attempts measures badly: its length decides, so a send is retried, with a back-off
that grows to a cap, until a time horizon since its first attempt has passed. A send parked by
an open circuit breaker was never tried, so it spends no attempt and counts as no failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from app.domain.backoff import backoff_ceiling

FIRST_DELAY_SECONDS = 0.5
# Parked sends wake spread over this part of a cool-down after the breaker may half-open, so
# they do not all reach the worker at the same instant.
PARK_SPREAD = 0.5

Draw = Callable[[float, float], float]


@dataclass(frozen=True)
class RetryPolicy:
    give_up_after: float  # seconds since the first attempt
    backoff_cap: float  # seconds


def retry_in(
    policy: RetryPolicy, attempts: int, since_first: float, draw: Draw = random.uniform
) -> float | None:
    """Seconds until the next attempt after a failure that is not a refusal, or None when the
    horizon has passed and the send is given up. The back-off doubles from half a second to
    the cap; its jitter is the upper half of it, so that sends apart stay apart while the wait
    still grows, and a long outage costs about one attempt per cap. The last wait ends at the
    horizon, so that the last attempt is made then rather than a whole back-off after it."""
    left = policy.give_up_after - since_first
    if left <= 0:
        return None
    ceiling = backoff_ceiling(attempts, base=FIRST_DELAY_SECONDS, cap=policy.backoff_cap)
    return min(draw(ceiling / 2, ceiling), left)


def parked_for(breaker_wait: float, cooldown: float, draw: Draw = random.uniform) -> float:
    """Seconds a send parked by an open breaker waits: until the breaker may let a trial
    through, plus a jitter."""
    return breaker_wait + draw(0.0, cooldown * PARK_SPREAD)

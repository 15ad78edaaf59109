"""What becomes of an event delivery after an attempt, by the rules sends to SOM/TOM follow
(app/domain/outbound_retries.py): a 2xx delivers; a refusal (a 4xx other than 408 and 429)
parks the delivery as dead at once; any other failure is retried with a growing, jittered
back-off until a horizon since its first attempt, then parks it. A subscriber that has
answered nothing but failures for the whole horizon is suspended: its pending deliveries park
too, and it gets no new ones until an operator replays them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.domain.outbound import classify_send
from app.domain.outbound_retries import Draw, RetryPolicy, retry_in


@dataclass(frozen=True)
class Outcome:
    kind: str  # delivered | retry | dead
    retry_in: float | None = None  # seconds, for retry
    suspend: bool = False  # dead, and the subscriber failed for the whole horizon


def after_attempt(
    status: int | None,
    *,
    policy: RetryPolicy,
    attempts: int,
    since_first: float,
    failing_for: float,
    draw: Draw = random.uniform,
) -> Outcome:
    """`since_first`: seconds since this delivery's first attempt; `failing_for`: since the
    subscriber's last success (0 when this attempt is its first failure)."""
    kind = classify_send(status)
    if kind == "accepted":
        return Outcome("delivered")
    if kind == "retry":
        wait = retry_in(policy, attempts, since_first, draw)
        if wait is not None:
            return Outcome("retry", wait)
    return Outcome("dead", suspend=failing_for >= policy.give_up_after)

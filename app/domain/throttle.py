"""How long sign-ins wait after repeated failures: the brute-force throttle's one decision.

A few mistyped passwords cost nothing; from the threshold on, each further failure doubles
the wait, so guessing slows to one try per `cap` seconds while a person who mistyped waits
about a second. The counting itself lives in Redis (app/http/throttle.py), shared by every
API process; this module only says how long.
"""

from __future__ import annotations

import math
from typing import Final

BASE_DELAY_SECONDS: Final = 1.0  # the wait once the threshold is reached; doubled after that


def delay_after(
    failures: int, threshold: int, cap: float, base: float = BASE_DELAY_SECONDS
) -> float:
    """Seconds the next attempt must wait after `failures` failed sign-ins in the window:
    none below `threshold`, `base` at it, doubling with each further failure, at most `cap`."""
    if failures < threshold:
        return 0.0
    # 2.0 ** 1024 raises OverflowError; any cap is reached long before 1023 doublings.
    doublings = min(failures - threshold, 1023)
    return min(cap, base * 2.0**doublings)


def delay_schedule(threshold: int, cap: float, base: float = BASE_DELAY_SECONDS) -> list[float]:
    """delay_after for failures = threshold, threshold + 1, ... up to the first that reaches
    the cap: every wait there is, for a caller that must decide atomically elsewhere (the
    Redis script takes entry min(n - threshold, last))."""
    schedule: list[float] = []
    failures = threshold
    while not schedule or schedule[-1] < cap:
        schedule.append(delay_after(failures, threshold, cap, base))
        failures += 1
    return schedule


def retry_after_seconds(wait: float) -> int:
    """The Retry-After header's whole seconds: rounded up, so a client that honours it is
    never early, and never 0, which would invite an immediate retry."""
    return max(1, math.ceil(wait))

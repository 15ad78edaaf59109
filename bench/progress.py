"""Progress lines: a run takes minutes, and a stall or a slow phase should show while it runs,
each line stamped with the seconds since the run began."""

from __future__ import annotations

import time

PROGRESS_EVERY = 5.0

_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"bench [{time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"

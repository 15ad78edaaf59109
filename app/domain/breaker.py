"""A circuit breaker per fulfilment system: after repeated failures, sends are parked for a
cool-down instead of hammering a system that is down; one trial send then decides."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CircuitBreaker:
    threshold: int
    cooldown: float
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = field(default=None)

    def wait(self) -> float:
        """Seconds a send must wait; 0 when it may go (closed, or half-open for one trial)."""
        if self.opened_at is None:
            return 0.0
        remaining = self.opened_at + self.cooldown - self.clock()
        if remaining > 0:
            return remaining
        self.opened_at = self.clock()  # half-open: this send is the trial, the others wait
        return 0.0

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def status(self) -> tuple[str, float]:
        """("closed" | "open" | "half_open", seconds until a trial send may go), read without
        changing anything, for the workers' breaker report: half-open means the cool-down is
        over and the next send is the trial."""
        if self.opened_at is None:
            return "closed", 0.0
        remaining = self.opened_at + self.cooldown - self.clock()
        return ("open", remaining) if remaining > 0 else ("half_open", 0.0)

"""orderhub_breaker_state: each system's breaker in this worker, 0 closed, 1 half-open, 2 open."""

from __future__ import annotations

from dataclasses import replace

from app.settings import Settings
from workers.breakers import breaker
from workers.metrics import BreakerStates


def _gauge() -> dict[str, float]:
    (family,) = BreakerStates().collect()
    assert family.name == "orderhub_breaker_state"
    return {sample.labels["system"]: sample.value for sample in family.samples}


def test_the_gauge_follows_the_breaker_through_its_states() -> None:
    # Settings of this test alone: the breaker is this test's, not another test's worker's.
    settings = replace(
        Settings.from_env({}),
        tom_url="http://127.0.0.1:9/unit-test-breaker",
        orderhub_breaker_threshold=2,
        orderhub_breaker_cooldown_seconds=123.0,
    )
    circuit = breaker({"settings": settings}, "TOM")
    try:
        assert _gauge()["TOM"] == 0
        circuit.failure()
        assert _gauge()["TOM"] == 0  # one failure, under the threshold
        circuit.failure()
        assert _gauge()["TOM"] == 2
        assert circuit.opened_at is not None
        circuit.opened_at -= 124.0  # the cool-down is over
        assert _gauge()["TOM"] == 1
    finally:
        circuit.success()
    assert _gauge()["TOM"] == 0

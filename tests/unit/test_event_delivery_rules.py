"""After an event POST: delivered, retried with back-off up to the horizon, or parked dead;
and a subscriber failing for the whole horizon is suspended."""

from __future__ import annotations

from app.domain.deliveries import after_attempt
from app.domain.outbound_retries import RetryPolicy

POLICY = RetryPolicy(give_up_after=86400, backoff_cap=300)


def upper(low: float, high: float) -> float:
    return high


def test_a_2xx_delivers() -> None:
    for status in (200, 201, 202, 204):
        outcome = after_attempt(status, policy=POLICY, attempts=1, since_first=0, failing_for=0)
        assert outcome.kind == "delivered"


def test_failures_are_retried_with_a_growing_capped_back_off() -> None:
    waits = [
        after_attempt(
            None, policy=POLICY, attempts=n, since_first=0, failing_for=0, draw=upper
        ).retry_in
        for n in range(1, 15)
    ]
    assert waits[0] == 0.5 and waits[1] == 1.0 and waits[2] == 2.0
    assert max(w for w in waits if w is not None) == 300
    for status in (500, 502, 503, 408, 429):
        assert (
            after_attempt(status, policy=POLICY, attempts=1, since_first=0, failing_for=0).kind
            == "retry"
        )


def test_the_last_wait_ends_at_the_horizon_and_past_it_the_delivery_is_dead() -> None:
    near = after_attempt(
        503, policy=POLICY, attempts=30, since_first=86400 - 10, failing_for=5, draw=upper
    )
    assert near.kind == "retry" and near.retry_in == 10
    past = after_attempt(503, policy=POLICY, attempts=31, since_first=86400, failing_for=5)
    assert past.kind == "dead" and not past.suspend


def test_a_subscriber_failing_for_the_whole_horizon_is_suspended() -> None:
    outcome = after_attempt(None, policy=POLICY, attempts=40, since_first=86401, failing_for=86401)
    assert outcome.kind == "dead" and outcome.suspend


def test_a_refusal_parks_at_once() -> None:
    for status in (400, 401, 404, 410):
        outcome = after_attempt(status, policy=POLICY, attempts=1, since_first=0, failing_for=0)
        assert outcome.kind == "dead" and not outcome.suspend

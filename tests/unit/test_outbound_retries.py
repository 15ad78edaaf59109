"""When a send that did not go through goes again and when it is given up
(app/domain/outbound_retries.py), and the settings behind it."""

from __future__ import annotations

import random

import pytest

from app.cli.main import main
from app.domain.backoff import backoff_ceiling, retry_delay
from app.domain.breaker import CircuitBreaker
from app.domain.outbound_retries import PARK_SPREAD, RetryPolicy, parked_for, retry_in
from app.settings import Settings, deprecations

SIX_HOURS = 6 * 3600.0
POLICY = RetryPolicy(give_up_after=SIX_HOURS, backoff_cap=300.0)


def lowest(low: float, _high: float) -> float:
    return low


def highest(_low: float, high: float) -> float:
    return high


def test_the_back_off_doubles_from_half_a_second_to_the_cap() -> None:
    waits = [retry_in(POLICY, attempts, since_first=0.0, draw=highest) for attempts in range(1, 13)]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert waits[-1] == 300.0 and max(w for w in waits if w is not None) == 300.0


def test_the_jitter_keeps_the_upper_half_of_the_back_off() -> None:
    assert retry_in(POLICY, 4, 0.0, draw=lowest) == 2.0
    assert retry_in(POLICY, 30, 0.0, draw=lowest) == 150.0
    for attempts in range(1, 40):
        wait = retry_in(POLICY, attempts, 0.0)
        ceiling = backoff_ceiling(attempts, base=0.5, cap=300.0)
        assert wait is not None and ceiling / 2 <= wait <= ceiling


def test_a_failure_within_the_horizon_is_retried_whatever_the_count() -> None:
    assert retry_in(POLICY, attempts=5, since_first=15.0) is not None
    assert retry_in(POLICY, attempts=500, since_first=SIX_HOURS - 60) is not None


def test_a_failure_at_or_past_the_horizon_gives_up() -> None:
    assert retry_in(POLICY, attempts=1, since_first=SIX_HOURS) is None
    assert retry_in(POLICY, attempts=3, since_first=SIX_HOURS + 0.01) is None


def test_the_last_wait_ends_at_the_horizon() -> None:
    assert retry_in(POLICY, attempts=20, since_first=SIX_HOURS - 10, draw=highest) == 10.0


def test_a_long_outage_costs_about_one_attempt_per_cap() -> None:
    """Every attempt fails for the whole horizon: how many were made before giving up."""
    rng = random.Random(7)
    attempts, since_first = 1, 0.0
    while (wait := retry_in(POLICY, attempts, since_first, draw=rng.uniform)) is not None:
        since_first += wait
        attempts += 1
    assert since_first == pytest.approx(SIX_HOURS)
    # at least a wait of half the cap each once it is reached, plus the first doublings
    assert attempts <= SIX_HOURS / 150 + 12


def test_a_parked_send_waits_for_the_breaker_and_a_jitter() -> None:
    assert parked_for(3.0, cooldown=5.0, draw=lowest) == 3.0
    assert parked_for(3.0, cooldown=5.0, draw=highest) == 3.0 + 5.0 * PARK_SPREAD
    waits = {parked_for(3.0, cooldown=5.0) for _ in range(20)}
    assert len(waits) > 1, "parked sends wake spread apart"


def test_parking_counts_no_failure() -> None:
    now = [1000.0]
    circuit = CircuitBreaker(threshold=3, cooldown=5, clock=lambda: now[0])
    for _ in range(3):
        circuit.failure()
    for _ in range(10):
        now[0] += 0.1
        assert circuit.wait() > 0, "parked"
    assert circuit.failures == 3 and circuit.opened_at == 1000.0
    now[0] = 1005.0
    assert circuit.wait() == 0, "the trial goes after the cool-down, however many were parked"


def test_retry_delay_works_for_any_attempt_number() -> None:
    assert retry_delay(100_000, cap=30.0, draw=highest) == 30.0
    assert backoff_ceiling(10**9, base=0.5, cap=300.0) == 300.0


def test_the_horizon_and_cap_are_settings() -> None:
    settings = Settings.from_env(
        {"ORDERHUB_OUTBOUND_GIVE_UP_SECONDS": "60", "ORDERHUB_OUTBOUND_BACKOFF_CAP_SECONDS": "2"}
    )
    assert settings.orderhub_outbound_give_up_seconds == 60.0
    assert settings.orderhub_outbound_backoff_cap_seconds == 2.0
    defaults = Settings.from_env({})
    assert defaults.orderhub_outbound_give_up_seconds == SIX_HOURS
    assert defaults.orderhub_outbound_backoff_cap_seconds == 300.0


def test_the_retired_max_attempts_setting_is_named_as_having_no_effect() -> None:
    env = {"ORDERHUB_OUTBOUND_MAX_ATTEMPTS": "5"}
    assert Settings.from_env(env) == Settings.from_env({})
    (warning,) = deprecations(env)
    assert "ORDERHUB_OUTBOUND_MAX_ATTEMPTS" in warning and "no effect" in warning
    assert "ORDERHUB_OUTBOUND_GIVE_UP_SECONDS" in warning
    assert deprecations({}) == []


def test_a_command_run_with_the_retired_setting_warns_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORDERHUB_OUTBOUND_MAX_ATTEMPTS", "5")
    assert main(["settings"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("orderhub: warning: setting ORDERHUB_OUTBOUND_MAX_ATTEMPTS")
    assert "ORDERHUB_OUTBOUND_GIVE_UP_SECONDS=21600" in out
    assert "ORDERHUB_OUTBOUND_MAX_ATTEMPTS" not in out

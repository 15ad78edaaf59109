"""The sign-in throttle's wait: free below the threshold, then doubling, capped."""

from __future__ import annotations

import pytest

from app.domain.throttle import delay_after, delay_schedule, retry_after_seconds


@pytest.mark.parametrize("failures", [0, 1, 4])
def test_no_wait_below_the_threshold(failures: int) -> None:
    assert delay_after(failures, threshold=5, cap=300) == 0


def test_the_wait_doubles_with_each_failure_from_the_threshold() -> None:
    waits = [delay_after(n, threshold=5, cap=300) for n in range(5, 10)]
    assert waits == [1, 2, 4, 8, 16]


def test_the_wait_stops_at_the_cap() -> None:
    assert delay_after(13, threshold=5, cap=300) == 256
    assert delay_after(14, threshold=5, cap=300) == 300
    assert delay_after(100, threshold=5, cap=300) == 300


def test_a_huge_count_neither_overflows_nor_passes_the_cap() -> None:
    assert delay_after(10**9, threshold=1, cap=60) == 60


def test_a_cap_below_the_base_wins() -> None:
    assert delay_after(5, threshold=5, cap=0.25) == 0.25


def test_the_base_sets_the_first_wait() -> None:
    assert delay_after(3, threshold=3, cap=10, base=0.5) == 0.5
    assert delay_after(4, threshold=3, cap=10, base=0.5) == 1


def test_the_schedule_lists_every_wait_up_to_the_first_capped_one() -> None:
    assert delay_schedule(threshold=5, cap=300) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert delay_schedule(threshold=2, cap=4) == [1, 2, 4]
    assert delay_schedule(threshold=2, cap=0.5) == [0.5]


@pytest.mark.parametrize(("wait", "header"), [(0.001, 1), (1.0, 1), (1.2, 2), (299.5, 300)])
def test_retry_after_rounds_up_to_whole_seconds_never_zero(wait: float, header: int) -> None:
    assert retry_after_seconds(wait) == header

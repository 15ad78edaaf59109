"""The maths behind the benchmark's figures: percentiles, a backlog's slope, "flat"."""

from __future__ import annotations

import pytest

from bench.cpu import cores, delta
from bench.stats import is_flat, percentile, slope, summary


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0
    # Of ten values the p99 is the largest: nine of ten is only the p90.
    assert percentile([float(v) for v in range(10)], 99) == 9.0


def test_summary_sorts_for_itself() -> None:
    result = summary([3.0, 1.0, 2.0, 4.0])
    assert result["p50"] == 2.0
    assert result["max"] == 4.0
    assert result["mean"] == 2.5
    assert summary([]) == {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}


def test_slope_is_a_least_squares_fit() -> None:
    assert slope([(0.0, 10.0), (1.0, 12.0), (2.0, 14.0)]) == pytest.approx(2.0)
    assert slope([(0.0, 5.0), (1.0, 5.0)]) == 0.0
    assert slope([(1.0, 5.0)]) == 0.0
    assert slope([(1.0, 5.0), (1.0, 9.0)]) == 0.0
    # One odd sample moves a fit much less than it moves (last - first) / span.
    points = [(float(t), 100.0) for t in range(10)] + [(10.0, 150.0)]
    assert slope(points) < 50.0 / 10.0


def test_flat_is_growth_under_a_share_of_arrivals() -> None:
    assert is_flat(40.0, 1000.0, 0.05)
    assert not is_flat(60.0, 1000.0, 0.05)
    assert is_flat(-500.0, 1000.0, 0.05)  # a shrinking backlog is flat enough
    assert is_flat(0.0, 0.0, 0.05)


def test_cpu_deltas_and_cores() -> None:
    seconds = delta({"api": 1.0, "postgres": None, "gone": 2.0}, {"api": 3.5, "postgres": 4.0})
    assert seconds == {"api": 2.5, "postgres": None, "gone": None}
    assert cores(seconds, 2.0) == {"api": 1.25, "postgres": None, "gone": None}
    assert cores({"api": 1.0}, 0.0) == {"api": None}
